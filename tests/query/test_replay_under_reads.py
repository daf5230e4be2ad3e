"""`tonypi replay` swaps rebuilt tables in under a serving query service: every read during
the rebuild and the swap answers 200 (no half-built table, no stale prepared statement),
and the answers after it equal those before (ids derive from stream sequences)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter

from tonypi_events import EventType

from tests.support.processes import BIN

from .conftest import API


async def test_reads_keep_answering_through_a_replay(api, fleet, query_env):
    for n in range(40):
        robot = f"r{n % 8}"
        await fleet.status(robot)
        await fleet.publish(EventType.BATTERY, robot, {"percentage": 50 + n})
        await fleet.log(robot, f"line {n}", level="WARNING" if n % 3 else "ERROR")
        await fleet.job(robot, "started" if n % 2 == 0 else "completed", task_name=f"t{n}")
    await fleet.applied()
    paths = [
        f"{API}/robots/r3",
        f"{API}/robots",
        f"{API}/logs?level=error&limit=5",
        f"{API}/jobs/history?robot_id=r1",
        f"{API}/stats",
        f"{API}/robots/r5/telemetry",
    ]
    before = {p: await (await api.get(p)).json() for p in paths}

    statuses: Counter[int] = Counter()
    stop = asyncio.Event()

    async def keep_reading() -> None:
        while not stop.is_set():
            for path in paths:
                statuses[(await api.get(path)).status] += 1

    readers = [asyncio.create_task(keep_reading()) for _ in range(4)]
    replay = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "tonypi"), "replay", "--quiet"],
        env={**os.environ, **query_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    await asyncio.sleep(0.3)  # reads after the swap, too
    stop.set()
    await asyncio.gather(*readers)

    assert replay.returncode == 0, replay.stderr
    assert "swapped in" in replay.stdout + replay.stderr
    assert set(statuses) == {200} and statuses[200] > 50, statuses
    after = {p: await (await api.get(p)).json() for p in paths}
    assert after == before
