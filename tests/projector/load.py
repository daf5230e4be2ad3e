"""A steady, bounded load of mixed events for the fault tests, and the exactly-once check."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from nats.js import JetStreamContext
from tonypi_events import EventType, StreamNames

from tests.projector.support import event, publish


@dataclass
class Load:
    """Publishes `total` events at about `rate` per second: per robot, sensor readings,
    scans (each adds one item to one job) and log lines (each one row)."""

    js: JetStreamContext
    names: StreamNames
    total: int
    rate: float = 600.0
    robots: int = 5
    last_seq: int = 0
    scans: Counter = field(default_factory=Counter)
    logs: int = 0

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Publish `total` events, or fewer if `stop` is set first."""
        batch = max(1, int(self.rate / 20))
        for i in range(self.total):
            if stop is not None and stop.is_set():
                return
            robot = f"tonypi_{i % self.robots:02d}"
            kind = i % 4
            if kind == 0:
                ev = event(EventType.SCAN, robot, {"qr": f"QR{i}"})
                self.scans[robot] += 1
            elif kind == 1:
                ev = event(EventType.LOG, robot, {"level": "INFO", "message": f"line {i}", "source": "load"})
                self.logs += 1
            elif kind == 2:
                ev = event(EventType.JOB, robot, {"status": "in_progress", "phase": f"p{i}"}, version=2)
            else:
                ev = event(EventType.SENSOR, robot, {"sensor_type": f"s{i % 3}", "value": i})
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
    finally:
        await conn.close()
    assert checkpoint == load.last_seq
    assert lines == distinct == load.logs, "a log line was lost or doubled"
    assert items == dict(load.scans), "a scan was lost or doubled"
    assert active <= load.robots and robots == load.robots
