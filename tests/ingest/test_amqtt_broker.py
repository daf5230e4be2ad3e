"""`tonypi up` on a machine without Mosquitto embeds amqtt, which speaks only MQTT 3.1.1:
ingest falls back from MQTT 5 and works the same."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import aiomqtt
import pytest
from tonypi_ingest.config import load_config
from tonypi_ingest.mqtt_source import NO_DELAY

from tests.support.ports import free_port

from .conftest import RunningIngest, raw, wait_stored


@pytest.fixture
def amqtt_port():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tonypi_cli.embedded_mqtt", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(10)


async def test_ingest_falls_back_to_mqtt_311_on_a_broker_without_mqtt_5(
    amqtt_port, ingest_env, js, mqtt_prefix, stream_names
):
    config = load_config({**ingest_env, "MQTT_URL": f"mqtt://127.0.0.1:{amqtt_port}"})
    running = await RunningIngest(config).start(wait_ready=False)
    try:
        await running.wait_ready(timeout=30)  # the MQTT 5 attempt times out first
        async with aiomqtt.Client("127.0.0.1", amqtt_port, socket_options=NO_DELAY) as robot:
            for qos in (0, 1):
                await robot.publish(
                    mqtt_prefix + "tonypi/status/old_broker", raw({"status": "online", "qos": qos}), qos=qos
                )
        messages = await wait_stored(js, stream_names.events, 2)
        assert sorted(m.event.payload["qos"] for m in messages) == [0, 1]
    finally:
        await running.stop()
