"""EventSource.batches() hands over each batch fetched and decoded together: the events are
the messages, one for one and in order, however many slices the decoding took, and a
message that is no event is a dead letter in its place."""

from __future__ import annotations

import pytest
from tonypi_events import EventType
from tonypi_projector.source import DECODE_CHUNK, EventSource

from tests.projector.support import event, publish, publish_raw

pytestmark = pytest.mark.integration


async def test_a_batch_decoded_in_slices_is_its_messages_one_for_one(nats_client, js, streams):
    total = 3 * DECODE_CHUNK + 7
    for n in range(total):
        if n == DECODE_CHUNK + 1:
            await publish_raw(js, streams, "r1", b"not json")  # a dead letter, in its place
        else:
            await publish(js, streams, event(EventType.STATUS, "r1", {"status": "online", "n": n}))
    source = EventSource(nats_client, streams, "batches", batch_size=total, fetch_timeout=2)
    await source.open(1)
    batches = source.batches()
    try:
        msgs, events = await anext(batches)
    finally:
        await batches.aclose()
        await source.close()
    assert len(msgs) == len(events) == total
    assert [e.seq for e in events] == [m.metadata.sequence.stream for m in msgs] == list(range(1, total + 1))
    dead = [e.seq for e in events if e.event is None]
    assert dead == [DECODE_CHUNK + 2]
    assert [e.event.payload["n"] for e in events if e.event is not None][-1] == total - 1
