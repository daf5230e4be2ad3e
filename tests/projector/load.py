"""A steady, bounded load of mixed events for the fault tests, and the exactly-once check."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from nats.js import JetStreamContext
from tonypi_events import EventType, StreamNames, new_event_id
from tonypi_events.clock import bucket_start, tick_event
from tonypi_projector.counters import COUNTED_FROM_TABLES

from tests.projector.support import event, publish

# Low (20), critical (10), still critical within the margin, then recovered past 20 + 5.
BATTERY_CYCLE = (50.0, 18.0, 8.0, 12.0, 30.0, 60.0)


def silencing_tick(i: int):
    """A tick a second past the events' times with a half-second timeout: every robot is
    silent at it. Its own id: the load's ticks are not period buckets."""
    tick = tick_event(bucket_start(event(EventType.LOG, "x").received_at, 1) + timedelta(seconds=1), 1, 0.5)
    return tick.model_copy(update={"event_id": f"load-tick-{i}-{new_event_id()}"})


@dataclass
class Load:
    """Publishes `total` events at about `rate` per second: per robot, sensor readings,
    scans (each adds one item to one job), log lines (each one row) and battery readings
    that raise, escalate, de-escalate and clear alarms; every `tick_every` events a clock
    tick that finds every robot silent (offline alarms, cleared as each speaks again)."""

    js: JetStreamContext
    names: StreamNames
    total: int
    rate: float = 600.0
    robots: int = 5
    last_seq: int = 0
    scans: Counter = field(default_factory=Counter)
    logs: int = 0
    tick_every: int = 97
    ticks: int = 0

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Publish `total` events, or fewer if `stop` is set first."""
        batch = max(1, int(self.rate / 20))
        for i in range(self.total):
            if stop is not None and stop.is_set():
                return
            robot = f"tonypi_{i % self.robots:02d}"
            kind = i % 4  # with five robots, every robot gets every kind in turn
            if i % self.tick_every == self.tick_every - 1:
                ev = silencing_tick(i)
                self.ticks += 1
            elif kind == 0:
                ev = event(EventType.SCAN, robot, {"qr": "QR12345"})  # a code the robot counts
                self.scans[robot] += 1
            elif kind == 1:
                ev = event(EventType.LOG, robot, {"level": "INFO", "message": f"line {i}", "source": "load"})
                self.logs += 1
            elif kind == 2:
                ev = event(EventType.JOB, robot, {"status": "in_progress", "phase": f"p{i}"}, version=2)
            elif (i // 4) % 2 == 0:
                ev = event(EventType.SENSOR, robot, {"sensor_type": f"s{i % 3}", "value": i})
            else:  # each robot's successive readings walk through the cycle
                ev = event(
                    EventType.BATTERY, robot, {"percentage": BATTERY_CYCLE[(i // 40) % len(BATTERY_CYCLE)]}
                )
            self.last_seq = await publish(self.js, self.names, ev)
            if i % batch == batch - 1:
                await asyncio.sleep(batch / self.rate)


async def assert_applied_exactly_once(database_url: str, load: Load) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        lines = await conn.fetchval("SELECT count(*) FROM system_logs WHERE category = 'robot_load'")
        distinct = await conn.fetchval(
            "SELECT count(DISTINCT message) FROM system_logs WHERE category = 'robot_load'"
        )
        items = {
            r["robot_id"]: r["done"]
            for r in await conn.fetch("SELECT robot_id, sum(items_done) AS done FROM jobs GROUP BY robot_id")
        }
        active = await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'active'")
        checkpoint = await conn.fetchval("SELECT last_seq FROM projection_checkpoint")
        robots = await conn.fetchval("SELECT count(*) FROM robots")
        doubled_open = await conn.fetch(
            "SELECT robot_id, kind FROM alarms WHERE state = 'open' GROUP BY 1, 2 HAVING count(*) > 1"
        )
        raised = await conn.fetch(
            "SELECT a.id FROM alarms a LEFT JOIN alarm_transitions t "
            "ON t.alarm_id = a.id AND t.action = 'raised' GROUP BY a.id HAVING count(t.id) <> 1"
        )
        counted = {r["name"]: r["value"] for r in await conn.fetch(COUNTED_FROM_TABLES) if r["value"]}
        counters = {
            r["name"]: r["value"] for r in await conn.fetch("SELECT name, value FROM projection_counters")
        }
        offline_raised = await conn.fetchval(
            "SELECT count(*) FROM alarm_transitions WHERE kind = 'offline' AND action = 'raised'"
        )
    finally:
        await conn.close()
    assert checkpoint == load.last_seq
    assert lines == distinct == load.logs, "a log line was lost or doubled"
    assert items == dict(load.scans), "a scan was lost or doubled"
    assert active <= load.robots and robots == load.robots
    assert doubled_open == [], "two open alarms for one robot and kind"
    assert counters == counted, "the projector's counters disagree with the tables"
    assert raised == [], "an alarm raised twice, or never"
    if load.ticks:
        assert offline_raised >= 1
