"""The offline storm (issue 18, row 4): most of the fleet silent at one clock tick. The
tick is folded a slice of robots per transaction; the alarms are those of one unsliced
fold (exact, once per robot, same ids), a replay cut differently equals the live tables,
and SIGTERM part-way through the tick stops the projector, which goes on from the slice
it stopped after."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from tonypi_events import EventType
from tonypi_events.clock import publish_tick, tick_event
from tonypi_projector import metrics
from tonypi_projector.config import load_settings
from tonypi_projector.folds.context import ALARM_IDS_PER_EVENT
from tonypi_projector.replay import replay

from tests.projector.conftest import projector_running
from tests.projector.support import event, publish, snapshot, wait_for_checkpoint
from tests.support.processes import ServiceProcess

# Ids whose code point order differs from a linguistic collation's: slices follow code points.
NAMES = ("Robot-{:05d}", "robot-{:05d}", "éclair-{:05d}", "_r-{:05d}")


async def silent_fleet(js, streams, size: int) -> tuple[list[str], int]:
    """`size` robots heard an hour ago, then a clock tick two minutes after: every one is
    silent at it. Returns the robot ids and the tick's sequence."""
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    robots = [NAMES[i % len(NAMES)].format(i) for i in range(size)]
    acks = await asyncio.gather(
        *(publish(js, streams, event(EventType.STATUS, r, {"status": "online"}, at=base)) for r in robots)
    )
    assert len(set(acks)) == size
    ack = await publish_tick(js, streams, tick_event(base + timedelta(seconds=120), 5, 90))
    return robots, ack.seq


async def fetch(database_url: str, sql: str, *args):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def part_way(database_url: str, tick_seq: int) -> bool:
    """Whether a slice of the tick is committed and the tick is not whole yet."""
    try:
        sql = "SELECT 1 FROM projection_checkpoint WHERE tick_seq = $1"
        return bool(await fetch(database_url, sql, tick_seq))
    except (asyncpg.InvalidCatalogNameError, asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
        return False  # the projector has not created or migrated the database yet


async def assert_exact_offline_alarms(database_url: str, robots: list[str], tick_seq: int) -> None:
    """One open offline alarm per robot, raised by the tick, ids in code point order of robot
    id from the tick's first id: what one unsliced fold writes. One line each."""
    alarms = await fetch(database_url, "SELECT id, robot_id, state FROM alarms WHERE kind = 'offline'")
    by_robot = {a["robot_id"]: a for a in alarms}
    assert len(alarms) == len(robots) == len(by_robot)
    assert all(a["state"] == "open" for a in alarms)
    first = tick_seq * ALARM_IDS_PER_EVENT
    assert [by_robot[r]["id"] for r in sorted(robots)] == list(range(first, first + len(robots)))
    raised = await fetch(
        database_url,
        "SELECT count(*) AS n FROM alarm_transitions WHERE kind = 'offline' AND event_seq = $1",
        tick_seq,
    )
    assert raised[0]["n"] == len(robots)
    lines = await fetch(
        database_url, "SELECT count(*) AS n FROM system_logs WHERE message LIKE '%went offline%'"
    )
    assert lines[0]["n"] == len(robots)
    online = await fetch(database_url, "SELECT count(*) AS n FROM robots WHERE online")
    assert online[0]["n"] == 0


async def test_a_storm_is_folded_in_slices_with_exact_alarms_and_a_replay_equal_to_it(
    js, streams, projector_env, database_url
):
    env = {**projector_env, "PROJECTOR_TICK_SLICE": "100"}
    robots, tick_seq = await silent_fleet(js, streams, 2000)
    slices_before = metrics.TICK_SLICES._value.get()
    async with projector_running(env):
        await wait_for_checkpoint(database_url, tick_seq, timeout=60)
    slices = metrics.TICK_SLICES._value.get() - slices_before
    assert slices == 20  # of 100 robots each, the last one final (it sees no 101st)
    await assert_exact_offline_alarms(database_url, robots, tick_seq)
    fed = await fetch(database_url, "SELECT data FROM live_feed WHERE seq = $1", tick_seq)
    assert len(fed) == 1 and '"offline"' in fed[0]["data"]  # the first slice's record, only
    progress = await fetch(database_url, "SELECT tick_seq, tick_after FROM projection_checkpoint")
    assert [tuple(p) for p in progress] == [(None, None)]  # the whole tick done: no progress kept

    live = await snapshot(database_url)
    await replay(load_settings({**env, "PROJECTOR_TICK_SLICE": "100000"}))  # the tick unsliced
    assert await snapshot(database_url) == live


@pytest.mark.slow  # two projector processes, 3,000 robots
async def test_sigterm_part_way_through_a_storm_stops_at_once_and_a_restart_goes_on(
    js, streams, projector_env, database_url, tmp_path: Path
):
    env = {**projector_env, "PROJECTOR_TICK_SLICE": "10"}
    robots, tick_seq = await silent_fleet(js, streams, 3000)
    proc = ServiceProcess("tonypi-projector", env, log_path=tmp_path / "projector.log").start()
    try:
        deadline = time.monotonic() + 60
        while not await part_way(database_url, tick_seq):
            assert time.monotonic() < deadline, "no slice of the tick committed within 60 s"
            await asyncio.sleep(0.01)
        started = time.monotonic()
        assert proc.stop() == 0
        stopped_in = time.monotonic() - started
    finally:
        proc.stop()
    assert stopped_in < 2.0, f"SIGTERM took {stopped_in:.1f}s during a storm"
    [row] = await fetch(database_url, "SELECT last_seq, tick_seq, tick_after FROM projection_checkpoint")
    assert (row["last_seq"], row["tick_seq"]) == (tick_seq - 1, tick_seq), "stopped part-way through the tick"
    part = await fetch(database_url, "SELECT count(*) AS n FROM alarms WHERE kind = 'offline'")
    assert 0 < part[0]["n"] < len(robots)
    assert "stopping part-way through clock tick" in proc.log_text()

    proc = ServiceProcess("tonypi-projector", env, log_path=tmp_path / "projector2.log").start()
    try:
        await wait_for_checkpoint(database_url, tick_seq, timeout=120)
    finally:
        assert proc.stop() == 0
    await assert_exact_offline_alarms(database_url, robots, tick_seq)
    live = await snapshot(database_url)
    await replay(load_settings({**env, "PROJECTOR_TICK_SLICE": "1000"}))
    assert await snapshot(database_url) == live
