"""NATS crashes and comes back while robots keep publishing: every message published
while it was up, or buffered while it was down, ends up in the stream, once."""

from __future__ import annotations

import asyncio

import nats
import pytest
from tonypi_ingest.config import load_config
from tonypi_runtime.nats_client import not_declared

from tests.conftest import declare_streams
from tests.support.private_nats import PrivateNats

from .conftest import RunningIngest, raw, wait_stored

pytestmark = pytest.mark.slow  # brokers killed and restarted: leave out with -m 'not slow'

COUNT = 600


@pytest.fixture
async def private_nats(tmp_path, stream_names):
    server = PrivateNats(tmp_path / "jetstream")
    server.start()
    await declare_streams(server.url, stream_names)  # the admin step ingest waits for
    yield server
    server.kill()


async def test_messages_published_across_a_nats_restart_all_reach_the_stream(
    private_nats, ingest_env, mqtt, mqtt_prefix, stream_names
):
    running = await RunningIngest(
        load_config({**ingest_env, "NATS_URL": private_nats.url, "INGEST_ACK_TIMEOUT_S": "1"})
    ).start()
    try:

        async def publish_all() -> None:
            for n in range(COUNT):
                payload = {"robot_id": f"r{n % 7}", "sensor_type": "ultrasonic_distance", "value": n}
                await mqtt.publish(mqtt_prefix + f"tonypi/sensors/r{n % 7}", raw(payload), qos=n % 2)
                await asyncio.sleep(0.004)

        publishing = asyncio.create_task(publish_all())
        await asyncio.sleep(0.8)
        private_nats.kill()  # a crash, mid-flow
        down = await running.wait_status(503)
        assert down["checks"]["jetstream"] == "unreachable"
        await asyncio.sleep(1.0)  # robots keep publishing: ingest buffers
        assert not publishing.done()
        private_nats.start()
        await publishing
        await running.wait_status(200)

        nc = await nats.connect(private_nats.url)
        try:
            messages = await wait_stored(nc.jetstream(), stream_names.events, COUNT, timeout=30)
            assert sorted(m.event.payload["value"] for m in messages) == list(range(COUNT))
        finally:
            await nc.close()
    finally:
        await running.stop()


async def test_beyond_the_buffer_messages_are_dropped_counted_and_logged_never_silently(
    private_nats, ingest_env, mqtt, mqtt_prefix, stream_names, caplog
):
    from tonypi_ingest import metrics

    running = await RunningIngest(
        load_config(
            {
                **ingest_env,
                "NATS_URL": private_nats.url,
                "INGEST_BUFFER_SIZE": "10",
                "INGEST_ACK_TIMEOUT_S": "1",
            }
        )
    ).start()
    dropped_before = metrics.BUFFER_DROPPED._value.get()
    try:
        private_nats.kill()
        await running.wait_status(503)
        for n in range(30):
            await mqtt.publish(
                mqtt_prefix + "tonypi/sensors/r1", raw({"sensor_type": "x", "value": n}), qos=0
            )
        async with asyncio.timeout(10):
            while metrics.BUFFER_DROPPED._value.get() - dropped_before < 20:
                await asyncio.sleep(0.05)
        assert metrics.BUFFER_DROPPED._value.get() - dropped_before == 20
        assert any("buffer full" in r.getMessage() for r in caplog.records)
        private_nats.start()
        nc = await nats.connect(private_nats.url)
        try:  # the ten that fitted are stored once NATS is back
            messages = await wait_stored(nc.jetstream(), stream_names.events, 10, timeout=30)
            assert sorted(m.event.payload["value"] for m in messages) == list(range(10))
        finally:
            await nc.close()
    finally:
        await running.stop()


async def test_ingest_started_while_nats_is_down_takes_messages_and_stores_them_when_it_comes(
    tmp_path, ingest_env, mqtt, mqtt_prefix, stream_names
):
    server = PrivateNats(tmp_path / "late")  # its port is chosen, nothing listens yet
    running = await RunningIngest(load_config({**ingest_env, "NATS_URL": server.url})).start(wait_ready=False)
    try:
        # Subscribed, though JetStream is not there yet: not ready, but taking messages.
        await running.wait_status(503, timeout=15, mqtt="subscribed", jetstream="unreachable")
        for n in range(20):
            await mqtt.publish(
                mqtt_prefix + "tonypi/sensors/r1", raw({"sensor_type": "x", "value": n}), qos=n % 2
            )
        server.start()
        # Reachable, but nobody has declared the streams on this server: /readyz says so.
        missing = not_declared([stream_names.events, stream_names.dead_letter])
        await running.wait_status(503, timeout=15, mqtt="subscribed", jetstream=missing)
        await declare_streams(server.url, stream_names)
        await running.wait_status(200, timeout=30)
        nc = await nats.connect(server.url)
        try:
            messages = await wait_stored(nc.jetstream(), stream_names.events, 20, timeout=30)
            assert sorted(m.event.payload["value"] for m in messages) == list(range(20))
        finally:
            await nc.close()
    finally:
        await running.stop()
        server.kill()
