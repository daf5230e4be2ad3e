"""What the secured suite's tests do as robots and API clients: MQTT connections with a
robot's own login, messages shaped as the firmware shapes them, API calls, polling."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import datetime

import aiohttp
import aiomqtt
from tonypi_cli import fleet
from tonypi_events import EventEnvelope, utc_now
from tonypi_events.clock import tick_event

from .stack import API, Deployment


async def until(check, timeout: float = 30.0, interval: float = 0.1):
    """Poll `check()` (async) until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if last := await check():
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def robot_client(deployment: Deployment, robot_id: str) -> aiomqtt.Client:
    """An MQTT connection with `robot_id`'s own login (as its firmware connects)."""
    return aiomqtt.Client(
        "127.0.0.1",
        deployment.mqtt_port,
        username=robot_id,
        password=deployment.mqtt_passwords[robot_id],
        identifier=f"{robot_id}-{uuid.uuid4().hex[:6]}",
        timeout=5,
    )


def status(robot_id: str, **extra) -> bytes:
    payload = fleet.status(fleet.Robot(robot_id, 2), datetime.now(), random.Random(1)).payload
    return json.dumps({**payload, **extra}).encode()


def answer(robot_id: str, command_id: str) -> bytes:
    """A firmware answer, for the id-less answer topics."""
    body = {"robot_id": robot_id, "command_id": command_id, "success": True, "message": "ok"}
    return json.dumps({**body, "timestamp": datetime.now().isoformat()}).encode()


async def get(session: aiohttp.ClientSession, path: str):
    async with session.get(f"{API}{path}") as resp:
        return resp.status, await resp.json()


async def post(session: aiohttp.ClientSession, path: str, body: dict) -> dict:
    async with session.post(f"{API}{path}", json=body) as resp:
        assert resp.status in (201, 202), (resp.status, await resp.text())
        return await resp.json()


async def command_in(session, command_id: str, *states: str):
    code, body = await get(session, f"/commands/{command_id}")
    return body if code == 200 and body["state"] in states else None


async def online(session, robot_id: str):
    code, body = await get(session, f"/robots/{robot_id}")
    return code == 200 and body["online"] and body["firmware"]


async def at_least(count, n: float) -> bool:
    return (await count) >= n


async def exists(api, robot_id: str) -> bool:
    return (await get(api, f"/robots/{robot_id}"))[0] == 200


def forged_tick() -> EventEnvelope:
    """A tick as the projector's emitter makes it, a year ahead: applied, it would expire
    every pending command and take every robot offline."""
    now = utc_now()
    return tick_event(now.replace(year=now.year + 1), 10, 60)


async def true(value: bool) -> bool:
    """A value known now, for `until` (which awaits its check)."""
    return value


def words(data) -> set[str]:
    """Every key and string value in a record, at any depth."""
    if isinstance(data, dict):
        return set(map(str, data)) | set().union(*map(words, data.values()))
    if isinstance(data, list):
        return set().union(*map(words, data))
    return {data} if isinstance(data, str) else set()
