"""Mosquitto crashes and comes back: ingest says it is not ready meanwhile, reconnects with
backoff, subscribes again, and carries on."""

from __future__ import annotations

import socket
import subprocess
import time

import aiomqtt
import pytest
from tonypi_ingest.config import load_config
from tonypi_ingest.mqtt_source import NO_DELAY

from tests.support.ports import free_port
from tests.support.tools import tool

from .conftest import RunningIngest, raw, wait_stored

pytestmark = pytest.mark.slow  # brokers killed and restarted: leave out with -m 'not slow'


class PrivateMosquitto:
    def __init__(self, workdir) -> None:
        self.binary = tool("mosquitto")
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("private mosquitto did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def private_mosquitto(tmp_path):
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    yield broker
    broker.kill()


async def _publish(port: int, topic: str, payload: dict) -> None:
    async with aiomqtt.Client("127.0.0.1", port, socket_options=NO_DELAY) as robot:
        await robot.publish(topic, raw(payload), qos=1)


async def test_ingest_reconnects_after_mosquitto_restarts(
    private_mosquitto, ingest_env, js, mqtt_prefix, stream_names
):
    config = load_config({**ingest_env, "MQTT_URL": f"mqtt://127.0.0.1:{private_mosquitto.port}"})
    running = await RunningIngest(config).start()
    try:
        await _publish(private_mosquitto.port, mqtt_prefix + "tonypi/status/r1", {"status": "online", "n": 1})
        await wait_stored(js, stream_names.events, 1)
        private_mosquitto.kill()
        body = await running.wait_status(503)
        assert body["checks"]["mqtt"] == "not subscribed"
        private_mosquitto.start()
        await running.wait_status(200, timeout=20)
        await _publish(private_mosquitto.port, mqtt_prefix + "tonypi/status/r1", {"status": "online", "n": 2})
        messages = await wait_stored(js, stream_names.events, 2)
        assert [m.event.payload["n"] for m in messages] == [1, 2]
    finally:
        await running.stop()
