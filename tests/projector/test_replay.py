"""`tonypi replay`: rebuilt tables equal the live ones row for row, swapped in atomically."""

from __future__ import annotations

import asyncio

import asyncpg
from tonypi_events import EventType
from tonypi_projector.config import load_settings
from tonypi_projector.replay import replay

from tests.projector import clients as c
from tests.projector.conftest import projector_running
from tests.projector.support import event, publish, snapshot, wait_for_checkpoint
from tests.support.processes import BIN


def mixed_fleet_events(robots: int = 3, rounds: int = 6):
    """Every kind of event, both generations, several robots."""
    for r in range(robots):
        rid = f"tonypi_{r:02d}"
        yield event(EventType.STATUS, rid, {"status": "online", "system_info": {"cpu_percent": 10 + r}})
        for i in range(rounds):
            yield event(
                EventType.SENSOR,
                rid,
                {"sensor_type": f"accelerometer_{'xyz'[i % 3]}", "value": i, "unit": "m/s^2"},
            )
            yield event(EventType.BATTERY, rid, {"percentage": 90 - i, "voltage": 10.5, "charging": False})
            yield (
                event(EventType.SCAN, rid, {"qr": f"QR{i}"}, version=1)
                if r % 2
                else event(EventType.SCAN, rid, {"qr_data": f"QR{i}", "station_name": "S1"}, version=2)
            )
            yield event(EventType.LOG, rid, {"level": "info", "message": f"line {i}", "source": "main"})
        yield event(EventType.JOB, rid, {"task_name": "Transport", "status": "completed"}, version=2)
        yield event(EventType.STATUS, rid, {"status": "offline"})
        yield event(
            EventType.COMMAND_RESPONSE, rid, {"command_id": f"c{r}", "success": r % 2 == 0, "message": "ok"}
        )
    yield from client_habit_events()
    yield event(EventType.ROBOT_REGISTERED, "tonypi_api", {"name": "API robot"})
    yield event(EventType.ROBOT_UPDATED, "tonypi_api", {"changes": {"location": "Dock"}})
    yield event(EventType.ROBOT_DEACTIVATED, "tonypi_00")
    yield event(
        EventType.INGEST_REJECTED,
        "_unattributed",
        {"reason": "missing_robot_id", "detail": "no robot_id", "topic": "tonypi/battery", "size": 12},
    )


def client_habit_events():
    """What the robots' unchanged client sends (issue 9): gen 2's repeated endings and a
    superseded job, gen 1's counter running past its total, and the item echoes."""
    g1, g2 = "tonypi_habit1", "tonypi_habit2"
    found = {"found": True, "item": {"sku": "ITEM-001"}}
    for n in range(1, 13):
        yield c.envelope(c.scan(g1, "QR12345", 12 * n))
        yield c.envelope(c.item_echo(g1, found, 12 * n))
        yield c.envelope(c.item_counter(g1, n, 12 * n))
    yield c.envelope(c.gen2_started(g2, 0))
    for n in range(1, 4):
        yield c.envelope(c.gen2_report(g2, 0, 3 * n, n))
    for k in range(5):  # the ending, then its repeats every 3 s
        yield c.envelope(c.gen2_report(g2, 0, 12 + 3 * k, 3, status="completed"))
    yield c.envelope(c.gen2_started(g2, 40))
    yield c.envelope(c.gen2_report(g2, 40, 43, 1))
    yield c.envelope(c.gen2_report(g2, 60, 63, 1))  # names a job whose start was lost


async def test_replay_equals_live_tables_and_swaps_them_in(js, streams, projector_env, database_url):
    async with projector_running(projector_env):
        last = 0
        for ev in mixed_fleet_events():
            last = await publish(js, streams, ev)
        await wait_for_checkpoint(database_url, last)
        live = await snapshot(database_url)
        conn = await asyncpg.connect(database_url)
        old_oid = await conn.fetchval("SELECT 'robots'::regclass::oid")
        await conn.close()

        result = await replay(load_settings(projector_env), batch_size=7)  # small batches: many transactions
        assert result.last_seq == last and result.events == last
        rebuilt = await snapshot(database_url)
        assert rebuilt == live
        assert len(live["system_logs"]) > 20 and len(live["jobs"]) >= 3
        assert len(live["history_raw"]) > 50 and live["history_minute"] and live["history_hour"]
        habits = {
            rid: [(j["status"], j["items_done"]) for j in live["jobs"] if j["robot_id"] == rid]
            for rid in ("tonypi_habit1", "tonypi_habit2")
        }
        assert habits == {
            "tonypi_habit1": [("completed", 12)],
            "tonypi_habit2": [("completed", 3), ("superseded", 1), ("active", 1)],
        }

        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetchval("SELECT 'robots'::regclass::oid") != old_oid  # really new tables
            leftovers = await conn.fetch(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tonypi_replay%'"
            )
            assert leftovers == []
            # The migrations' extended statistics follow the rebuilt tables into place.
            statistics = await conn.fetch(
                "SELECT n.nspname, s.stxrelid::regclass::text AS tbl FROM pg_statistic_ext s "
                "JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE s.stxname = 'system_logs_level_category'"
            )
            assert [(r["nspname"], r["tbl"]) for r in statistics] == [("public", "system_logs")]
        finally:
            await conn.close()

        # The live projector carries on into the swapped-in tables.
        seq = await publish(
            js, streams, event(EventType.LOG, "tonypi_01", {"message": "after swap", "source": "main"})
        )
        await publish(js, streams, event(EventType.BATTERY, "tonypi_01", {"percentage": 3.25}))
        seq = await publish(js, streams, event(EventType.BATTERY, "tonypi_01", {"percentage": 3.5}))
        await wait_for_checkpoint(database_url, seq)
        after = await snapshot(database_url)
        assert [line["message"] for line in after["system_logs"]][-1] == "after swap"
        # The history's partitions moved in with their parents: the projector writes on.
        assert len(after["history_raw"]) == len(live["history_raw"]) + 2


async def test_replay_command_shows_progress_and_events_per_second(js, streams, projector_env, database_url):
    last = 0
    for ev in mixed_fleet_events(robots=2, rounds=3):
        last = await publish(js, streams, ev)
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "tonypi"),
        "replay",
        "--batch-size",
        "5",
        env={**__import__("os").environ, **projector_env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode()
    assert proc.returncode == 0, text
    assert "ev/s" in text and "[" in text and "100%" in text
    assert f"up to sequence {last}" in text and "events/s" in text
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT last_seq FROM projection_checkpoint") == last
    finally:
        await conn.close()


async def test_replay_swaps_in_under_a_live_projector_and_load_losing_nothing(
    js, streams, projector_env, database_url
):
    from tests.projector.load import Load, assert_applied_exactly_once

    load = Load(js, streams, total=20000, rate=1500)
    enough = asyncio.Event()
    async with projector_running(projector_env):
        publisher = asyncio.create_task(load.run(enough))
        await asyncio.sleep(1.0)
        result = await replay(load_settings(projector_env), batch_size=500)  # swaps while events keep coming
        assert result.events > 0
        await asyncio.sleep(0.5)
        enough.set()
        await publisher
        await wait_for_checkpoint(database_url, load.last_seq)
        await assert_applied_exactly_once(database_url, load)
        live = await snapshot(database_url)
    await replay(load_settings(projector_env))
    assert await snapshot(database_url) == live


async def test_replay_reads_past_the_consumers_ack_window(js, streams, projector_env, database_url):
    """More events than a consumer may have unacknowledged (10,000): the replay acks nothing."""
    payload = event(EventType.SENSOR, "r1", {"sensor_type": "x", "value": 1})
    from tonypi_events import encode

    data, subject = encode(payload), streams.subjects.event("r1", EventType.SENSOR)
    for _ in range(24):
        await asyncio.gather(*(js.publish(subject, data, stream=streams.events) for _ in range(500)))
    result = await asyncio.wait_for(replay(load_settings(projector_env), batch_size=3000), 60)
    assert result.events == result.last_seq == 12000
