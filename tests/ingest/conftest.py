"""Running ingest in-process against the real Mosquitto and NATS, with this test's own
stream names, subject prefix and MQTT topic prefix, and reading back what it stored."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import aiomqtt
import pytest
from tonypi_events import EventEnvelope, StreamNames, decode
from tonypi_ingest.bootstrap import serve
from tonypi_ingest.config import IngestConfig, load_config
from tonypi_ingest.mqtt_source import NO_DELAY

from tests.conftest import MQTT_URL, NATS_URL
from tests.support.ports import free_port


@pytest.fixture
def ingest_env(streams: StreamNames, mqtt_prefix: str) -> dict[str, str]:
    """Ingest's environment; its streams declared (the admin step ingest waits for)."""
    stream_names = streams
    return {
        "MQTT_URL": MQTT_URL,
        "NATS_URL": NATS_URL,
        "EVENTS_STREAM": stream_names.events,
        "DEAD_LETTER_STREAM": stream_names.dead_letter,
        "SUBJECT_PREFIX": stream_names.subject_prefix,
        "MQTT_TOPIC_PREFIX": mqtt_prefix,
        "INGEST_PORT": str(free_port()),
        "INGEST_DRAIN_TIMEOUT_S": "10",
        "EVENTS_MAX_BYTES": str(stream_names.events_max_bytes),
        "DEAD_LETTER_MAX_BYTES": str(stream_names.dead_letter_max_bytes),
    }


class RunningIngest:
    """Ingest's `serve` as a task of the test's loop; `stop()` is what SIGTERM does."""

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self._stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.http.host}:{self.config.http.port}"

    async def start(self, wait_ready: bool = True) -> RunningIngest:
        self.task = asyncio.create_task(serve(self.config, self._stop))
        if wait_ready:
            await self.wait_ready()
        return self

    async def readiness(self) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as http, http.get(self.url + "/readyz") as resp:
            return resp.status, await resp.json()

    async def wait_status(self, status: int, timeout: float = 10.0, **checks: str) -> dict:
        """The /readyz body once it answers `status` (and these checks), failing after `timeout`."""
        deadline = time.monotonic() + timeout
        code, body = None, None
        while time.monotonic() < deadline:
            try:
                code, body = await self.readiness()
            except aiohttp.ClientError:  # not listening yet
                code = None
            if code == status and all(body["checks"].get(k) == v for k, v in checks.items()):
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"/readyz still {code} {body}, expected {status} {checks}")

    async def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.task is not None and self.task.done():
                self.task.result()
                raise AssertionError("ingest stopped before it was ready")
            try:
                if (await self.readiness())[0] == 200:
                    return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise TimeoutError("ingest not ready in time")

    async def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout)


@pytest.fixture
async def ingest(ingest_env, js):
    """A running ingest; `js` (taken first) deletes this test's streams afterwards."""
    running = await RunningIngest(load_config(ingest_env)).start()
    yield running
    if not running.task.done():
        await running.stop()


@pytest.fixture
async def mqtt(mqtt_prefix: str):
    """A robot-side MQTT client; `publish(topic, payload)` prepends this test's prefix."""
    client = aiomqtt.Client("127.0.0.1", int(MQTT_URL.rsplit(":", 1)[1]), socket_options=NO_DELAY)
    async with client:
        yield client


def raw(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@dataclass
class Stored:
    subject: str
    headers: dict[str, str]
    data: bytes

    @property
    def event(self) -> EventEnvelope:
        return decode(self.data)


async def stored(js, stream: str) -> list[Stored]:
    info = await js.stream_info(stream)
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        out.append(Stored(msg.subject, dict(msg.headers or {}), msg.data or b""))
    return out


async def wait_stored(js, stream: str, count: int, timeout: float = 15.0) -> list[Stored]:
    """The stream's messages once it holds at least `count` (fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    held = -1
    while time.monotonic() < deadline:
        try:
            held = (await js.stream_info(stream)).state.messages
        except Exception:  # not created yet
            held = -1
        if held >= count:
            return await stored(js, stream)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{stream} holds {held} messages, expected {count} within {timeout}s")
