"""A NATS client closed for good is replaced (issue 8, row 3). nats-py reconnects after a
lost connection by itself, but a server `-ERR` closes the client for good: here the real
server's "maximum control line exceeded", provoked on ingest's own connection."""

from __future__ import annotations

import asyncio
import time

from tonypi_events import StreamNames
from tonypi_ingest import metrics
from tonypi_ingest.forwarder import JetStreamForwarder, Outgoing
from tonypi_ingest.nats_link import NatsLink
from tonypi_runtime.connections import nats_url

from tests.conftest import NATS_URL

from .conftest import wait_stored


async def test_a_client_the_server_closed_is_replaced_and_publishing_resumes(js, streams: StreamNames):
    stream_names = streams
    forwarder: JetStreamForwarder | None = None
    link = NatsLink(
        nats_url({"NATS_URL": NATS_URL}), stream_names, on_available=lambda: forwarder and forwarder.wake()
    )
    forwarder = JetStreamForwarder(link, capacity=100, max_in_flight=10, ack_timeout_s=2)
    replaced = metrics.NATS_CLIENTS_REPLACED._value.get()
    await link.connect()
    publishing = asyncio.create_task(forwarder.run())
    stored = []

    def offer(n: int) -> None:
        subject = stream_names.subjects.dead_letter(f"n{n}")
        forwarder.offer(
            Outgoing(subject, b"x", {"Nats-Msg-Id": f"m{n}"}, "t", time.monotonic(), stored.append)
        )

    try:
        offer(1)
        await wait_stored(js, stream_names.dead_letter, 1)
        first = link.nc
        await first.publish("x" * 5000, b"")  # the server answers -ERR and closes the connection
        async with asyncio.timeout(15):
            while not (first.is_closed and link.nc is not first and link.connected):
                await asyncio.sleep(0.05)
        assert metrics.NATS_CLIENTS_REPLACED._value.get() == replaced + 1
        offer(2)
        await wait_stored(js, stream_names.dead_letter, 2)
        async with asyncio.timeout(5):
            while len(stored) < 2:
                await asyncio.sleep(0.01)
        assert stored == [True, True]
    finally:
        publishing.cancel()
        await link.close()
