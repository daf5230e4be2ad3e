"""Issue 23: ingest is ready only once presence has read every robot's last status from the
stream, so a burst at readiness meets an event loop that is free to read MQTT; and a burst
published at that moment is stored whole."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from tonypi_events import EventType, StreamNames, ensure_streams
from tonypi_ingest import metrics
from tonypi_ingest.config import load_config

from .conftest import RunningIngest, wait_stored

ROBOTS = 20_000
BURST = 2_000


def _status_event(i: int) -> bytes:
    """A stored status as an older ingest wrote it (no Tonypi-Presence header)."""
    return json.dumps(
        {
            "event_id": f"seed-{i}",
            "event_type": "status",
            "schema_version": 1,
            "robot_id": f"r{i:05d}",
            "received_at": "2026-12-05T09:00:00+00:00",
            "source": f"tonypi/status/r{i:05d}",
            "payload": {"robot_id": f"r{i:05d}", "status": "online" if i % 3 else "offline"},
        }
    ).encode()


async def _seed(js, names: StreamNames) -> int:
    await ensure_streams(js, names)
    last, pending = 0, []
    for i in range(ROBOTS):
        subject = names.subjects.event(f"r{i:05d}", EventType.STATUS)
        pending.append(js.publish(subject, _status_event(i), stream=names.events))
        if len(pending) == 1000:
            last = max(ack.seq for ack in await asyncio.gather(*pending))
            pending = []
    return last


async def _metric(url: str, name: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    raise AssertionError(f"{name} not exported")


async def test_ready_only_once_presence_knows_every_robot_and_a_burst_at_readiness_is_stored(
    ingest_env, js, mqtt, mqtt_prefix, stream_names
):
    last = await _seed(js, stream_names)
    forgotten_before = metrics.PRESENCE_FORGOTTEN._value.get()
    running = await RunningIngest(load_config(ingest_env)).start(wait_ready=False)
    try:
        body = await running.wait_status(200, timeout=40)
        # The first 200 already knows every robot: nothing is left to read after readiness.
        assert body["checks"]["presence"] == "caught up"
        # Every stored status read: kept, or forgotten (older than the online timeout, as
        # these are, or saying offline: issue 18's bound).
        kept = await _metric(running.url, "tonypi_ingest_presence_robots")
        forgotten = await _metric(running.url, "tonypi_ingest_presence_forgotten_total") - forgotten_before
        assert kept + forgotten == ROBOTS
        for n in range(BURST):
            robot = f"r{n % ROBOTS:05d}"
            payload = json.dumps({"robot_id": robot, "status": "online", "n": n}).encode()
            await mqtt.publish(f"{mqtt_prefix}tonypi/status/{robot}", payload, qos=1)
        stored = await wait_stored(js, stream_names.events, last + BURST, timeout=30)
        burst = [m for m in stored[last:] if m.subject.endswith(".status")]
        assert sorted(m.event.payload["n"] for m in burst) == list(range(BURST))
        # Statuses ingest stores carry what presence reads instead of decoding the event.
        # (<received_at> <stopped> <firmware> <status>)
        assert all(m.headers["Tonypi-Presence"].split()[1::2] == ["0", "online"] for m in burst)
    finally:
        await running.stop()
