"""Issue 16 rows 1 and 3 under the shipped auth.conf, on both nats-servers: only the admin
declares the streams; no service user may create, update, purge or delete one; ingest may
follow the stream with nats-py's ordered consumers (its presence follower)."""

from __future__ import annotations

import asyncio
import dataclasses

import nats.errors
import pytest
from nats.js.api import DeliverPolicy
from tonypi_events import EventType, StreamNames
from tonypi_events.stream import ensure_stream

from .conftest import PRODUCTION_NAMES, SecuredNats, declare_as

pytestmark = pytest.mark.integration  # starts nats-server with its users

SERVICES = ("ingest", "projector", "query")
NAMES = StreamNames(
    events_max_bytes=int(PRODUCTION_NAMES["EVENTS_MAX_BYTES"]),
    dead_letter_max_bytes=int(PRODUCTION_NAMES["DEAD_LETTER_MAX_BYTES"]),
)
REFUSED = (TimeoutError, nats.errors.Error)


def refused(errors: list[str]) -> bool:
    return any("permissions violation" in e.lower() for e in errors)


async def wait_refused(errors: list[str], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not refused(errors):
            await asyncio.sleep(0.02)


async def test_a_service_user_cannot_declare_the_streams(secured_nats: SecuredNats):
    # Side by side: each waits out its refused request (the server sends no reply to it).
    runs = await asyncio.gather(*(asyncio.to_thread(declare_as, secured_nats, u) for u in SERVICES))
    for done in runs:
        assert done.returncode == 1, done
        assert "admin" in done.stderr


@pytest.mark.parametrize("user", SERVICES)
async def test_no_service_may_create_update_purge_or_delete_a_stream(declared: SecuredNats, user):
    admin = await declared.connect("admin")
    errors: list[str] = []
    client = await declared.connect(user, errors)
    try:
        js = client.jetstream(timeout=0.3)  # a refused request gets no reply; wait_refused checks why
        await admin.jetstream().publish("tonypi.events._tokens.token_revoked", b"{}")  # to lose
        before = (await admin.jetstream().stream_info(NAMES.events)).state.messages
        attempts = {
            "create": lambda: js.add_stream(dataclasses.replace(NAMES.events_config(), name="TONYPI_EVENTS")),
            "update": lambda: js.update_stream(dataclasses.replace(NAMES.events_config(), max_msgs=3)),
            "create another": lambda: ensure_stream(js, dataclasses.replace(NAMES.events_config(), name="X")),
            "purge": lambda: js.purge_stream(NAMES.events),
            "delete": lambda: js.delete_stream(NAMES.events),
            "delete dead letters": lambda: js.delete_stream(NAMES.dead_letter),
        }
        for what, attempt in attempts.items():
            errors.clear()
            with pytest.raises(REFUSED):
                await attempt()
            await wait_refused(errors)  # the server said so: not a lost reply
            assert what  # (named in the traceback)
        info = await admin.jetstream().stream_info(NAMES.events)
        assert info.state.messages == before and info.config.max_msgs in (None, -1)
    finally:
        await client.close()
        await admin.close()


async def test_ingest_follows_the_stream_with_ordered_consumers(declared: SecuredNats):
    """What presence.py does (issue 16 row 1: refused on CONSUMER.CREATE.<stream>, no suffix)."""
    errors: list[str] = []
    ingest = await declared.connect("ingest", errors)
    try:
        js = ingest.jetstream()
        seen: asyncio.Queue = asyncio.Queue()

        async def on_status(msg) -> None:
            await seen.put(msg.subject)

        sub = await js.subscribe(
            NAMES.subjects.of_type(EventType.STATUS),
            stream=NAMES.events,
            cb=on_status,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
        )
        await js.publish(NAMES.subjects.event("r1", EventType.STATUS), b"{}", stream=NAMES.events)
        assert await asyncio.wait_for(seen.get(), 10) == "tonypi.events.r1.status"
        await sub.unsubscribe()
        assert not refused(errors), errors
    finally:
        await ingest.close()
