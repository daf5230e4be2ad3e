"""Commands end to end: the real projector and ingest as processes, the query app in-process,
simulated robots (the `tonypi simulate` code) on the real Mosquitto, and an MQTT observer
recording every command the robots were sent, with its QoS."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from tonypi_cli import fleet
from tonypi_cli.behaviour import RobotBehaviour
from tonypi_cli.simulate import PublishCounter, run_robot
from tonypi_runtime.connections import mqtt_url

from tests.conftest import MQTT_URL
from tests.query.conftest import API, _serve, projector, query_env  # noqa: F401 (fixtures)
from tests.query.events import Fleet
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

__all__ = ["API"]


@pytest.fixture
def stack_env(query_env: dict[str, str]) -> dict[str, str]:
    return {**query_env, "SSE_HEARTBEAT": "0.5"}


class Ingests:
    """Ingest replicas as processes (each its own ops port), sharing the command consumer."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp, self.running = env, tmp, []

    async def start(self, count: int = 1) -> None:
        for _ in range(count):
            port = free_port()
            env = {**self.env, "INGEST_PORT": str(port)}
            n = len(self.running)
            proc = ServiceProcess("tonypi-ingest", env, log_path=self.tmp / f"ingest{n}.log").start()
            await proc.async_wait_http_ok(f"http://127.0.0.1:{port}/readyz")
            self.running.append(proc)

    def logs(self) -> str:
        return "\n".join(p.log_text() for p in self.running)

    def stop(self) -> None:
        for proc in self.running:
            proc.stop()
        self.running.clear()


@pytest.fixture
async def ingests(stack_env, tmp_path, js, projector):
    running = Ingests(stack_env, tmp_path)
    yield running
    running.stop()


@pytest.fixture
async def fleet_api(js, stream_names, database_url, projector) -> Fleet:
    """Robot events appended straight to the stream (a robot that never answers, say)."""
    return Fleet(js, stream_names, database_url)


@pytest.fixture
async def api(stack_env, projector):
    client = await _serve(stack_env)
    yield client
    await client.close()


@dataclass
class Seen:
    topic: str
    qos: int
    payload: dict[str, Any]


@dataclass
class Observer:
    """Every message on the command and emergency-stop topics, as the broker delivered them."""

    prefix: str
    messages: list[Seen] = field(default_factory=list)

    def sent(self, command_id: str) -> list[Seen]:
        return [m for m in self.messages if m.payload.get("id") == command_id]

    async def wait_for(self, predicate, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen in {timeout}s; seen: {self.messages}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def observer(mqtt_prefix):
    host, port = MQTT_URL.rsplit("//", 1)[1].split(":")
    seen = Observer(mqtt_prefix)
    ready = asyncio.Event()

    async def watch() -> None:
        async with aiomqtt.Client(host, int(port)) as client:
            for topic in ("tonypi/commands/+", "tonypi/emergency_stop/+"):
                await client.subscribe(mqtt_prefix + topic, qos=1)
            ready.set()
            async for message in client.messages:
                topic = str(message.topic)
                if topic.endswith("/response"):
                    continue
                seen.messages.append(
                    Seen(topic[len(mqtt_prefix) :], message.qos, json.loads(message.payload))
                )

    task = asyncio.create_task(watch())
    await asyncio.wait_for(ready.wait(), 10)
    yield seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class Robots:
    """Simulated robots, each on its own MQTT connection, answering like the real client."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.tasks: dict[str, tuple[asyncio.Task, asyncio.Event, RobotBehaviour]] = {}
        self.url = mqtt_url({"MQTT_URL": MQTT_URL})

    def start(self, robot_id: str, generation: int = 2, speed: float = 1.0) -> RobotBehaviour:
        """A fresh robot process: whatever the last one remembered (an emergency stop) is gone."""
        behaviour = RobotBehaviour(fleet.Robot(robot_id, generation), random.Random(7), speed=speed)
        stop = asyncio.Event()
        task = asyncio.create_task(run_robot(behaviour, self.url, self.prefix, 1, stop, PublishCounter()))
        self.tasks[robot_id] = (task, stop, behaviour)
        return behaviour

    async def stop(self, robot_id: str) -> None:
        task, stop, _ = self.tasks.pop(robot_id)
        stop.set()
        await asyncio.wait_for(task, 10)

    async def stop_all(self) -> None:
        for robot_id in list(self.tasks):
            await self.stop(robot_id)


@pytest.fixture
async def robots(mqtt_prefix):
    running = Robots(mqtt_prefix)
    yield running
    await running.stop_all()


async def until(check, timeout: float = 30.0, interval: float = 0.1):
    """Poll `check()` (async) until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")
