"""Two replicas in one MQTT shared-subscription group split the load; every message is
still exactly one event."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import EMBEDDED_AMQTT
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

from .conftest import raw, wait_stored
from .test_process import received_total

COUNT = 300

pytestmark = pytest.mark.skipif(
    EMBEDDED_AMQTT,
    reason="the embedded amqtt has no shared subscriptions (make test on a machine without Mosquitto)",
)


async def test_replicas_in_a_shared_group_split_the_messages(
    ingest_env, js, mqtt, mqtt_prefix, stream_names, run_id, tmp_path
):
    replicas = []
    for n in range(2):
        env = {**ingest_env, "MQTT_SHARED_GROUP": f"ingest{run_id}", "INGEST_PORT": str(free_port())}
        replicas.append(
            (
                ServiceProcess("tonypi-ingest", env, log_path=tmp_path / f"ingest{n}.log").start(),
                f"http://127.0.0.1:{env['INGEST_PORT']}",
            )
        )
    try:
        for proc, url in replicas:
            await proc.async_wait_http_ok(url + "/readyz")
        for n in range(COUNT):
            await mqtt.publish(
                mqtt_prefix + f"tonypi/sensors/r{n % 10}", raw({"sensor_type": "x", "value": n}), qos=n % 2
            )
        messages = await wait_stored(js, stream_names.events, COUNT)
        await asyncio.sleep(0.3)  # nothing more arrives: no message went to both replicas
        stored = await wait_stored(js, stream_names.events, COUNT)
        assert sorted(m.event.payload["value"] for m in stored) == list(range(COUNT))
        assert len(messages) == COUNT
        shares = [await received_total(url) for _, url in replicas]
        assert sum(shares) == COUNT
        assert min(shares) > 0, shares  # both took part
    finally:
        for proc, _ in replicas:
            assert proc.stop() == 0, proc.log_text()
