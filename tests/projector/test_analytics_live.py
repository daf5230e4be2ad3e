"""Analytics through the real pipeline: MQTT -> `tonypi-ingest` -> stream -> projector, and
`tonypi replay` rebuilding every analytics table equal to the live one."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import asyncpg
from tonypi_events import EventType
from tonypi_projector.config import load_settings
from tonypi_projector.replay import replay

from tests.conftest import MQTT_URL
from tests.projector.conftest import projector_running
from tests.projector.support import event, publish, snapshot, wait_for_checkpoint
from tests.support.processes import ServiceProcess

ROBOT = "tonypi_stats"
TS = "2026-11-26T10:15:02.123456"


def _messages() -> list[tuple[str, dict]]:
    def job(**payload):
        return (f"tonypi/job/{ROBOT}", {"robot_id": ROBOT, "task_name": "Sort", "timestamp": TS, **payload})

    def log(message: str):
        topic = f"tonypi/logs/{ROBOT}"
        return (topic, {"robot_id": ROBOT, "level": "ERROR", "message": message, "source": "servo"})

    return [
        (f"tonypi/status/{ROBOT}", {"robot_id": ROBOT, "status": "online", "timestamp": TS}),
        job(status="started", start_time="1000.0", items_total=3),
        job(status="working", start_time="1000.0", items_done=2, items_total=3),
        job(status="completed", start_time="1000.0", items_done=3, items_total=3, estimated_duration=120),
        job(status="started", start_time="2000.0", items_total=3),
        job(status="failed", start_time="2000.0", reason="gripper 2 jammed", items_done=1),
        log("Servo 3 overheated at 75.5C"),
        log("Servo 6 overheated at 81C"),
        (f"tonypi/status/{ROBOT}", {"robot_id": ROBOT, "status": "offline", "timestamp": TS}),
    ]


async def test_each_rollup_from_robot_messages_through_ingest_and_projector(
    streams, projector_env, database_url, mqtt_prefix, tmp_path: Path
):
    ingest = ServiceProcess("tonypi-ingest", projector_env, log_path=tmp_path / "ingest.log").start()
    try:
        await ingest.async_wait_http_ok(f"http://127.0.0.1:{projector_env['INGEST_PORT']}/readyz")
        async with projector_running(projector_env):
            host, port = MQTT_URL.removeprefix("mqtt://").split(":")
            async with aiomqtt.Client(host, int(port)) as client:
                for topic, payload in _messages():
                    await client.publish(mqtt_prefix + topic, json.dumps(payload), qos=1)
            conn = await asyncpg.connect(database_url)
            try:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    status = await conn.fetchval("SELECT status FROM robots WHERE robot_id = $1", ROBOT)
                    if status == "offline":
                        break
                    await asyncio.sleep(0.1)
                utilization = await conn.fetch("SELECT * FROM analytics_utilization")
                outcomes = await conn.fetch("SELECT status, reason, jobs FROM analytics_job_outcomes")
                performance = await conn.fetch("SELECT jobs, items, duration_us FROM analytics_performance")
                buckets = await conn.fetch("SELECT measure, jobs FROM analytics_job_buckets ORDER BY measure")
                errors = await conn.fetch("SELECT template, occurrences, example FROM analytics_errors")
                job = await conn.fetchrow("SELECT * FROM jobs WHERE status = 'completed'")
            finally:
                await conn.close()
    finally:
        ingest.stop()

    [row] = utilization
    today = datetime.now(UTC).date()
    assert row["robot_id"] == ROBOT and row["day"] in (today, today - timedelta(days=1))
    assert 0 < row["busy_us"] < row["online_us"]  # the job began after the robot came online
    assert sorted((r["status"], r["reason"], r["jobs"]) for r in outcomes) == [
        ("completed", "", 1),
        ("failed", "gripper <n> jammed", 1),
    ]
    [perf] = performance
    assert (perf["jobs"], perf["items"]) == (1, 3)
    assert perf["duration_us"] == (job["end_time"] - job["start_time"]) // timedelta(microseconds=1)
    assert job["estimated_duration"] == 120
    assert [(b["measure"], b["jobs"]) for b in buckets] == [("duration_s", 1), ("vs_estimate", 1)]
    by_template = {r["template"]: (r["occurrences"], r["example"]) for r in errors}
    assert by_template["Servo <n> overheated at <n>C"] == (2, "Servo 3 overheated at 75.5C")


def _fleet_over_midnight():
    """Three robots working across a UTC midnight, the clock finding one silent."""
    start = datetime(2026, 11, 30, 23, 58, tzinfo=UTC)

    def t(s: float) -> datetime:
        return start + timedelta(seconds=s)

    for r in range(3):
        rid = f"tonypi_a{r}"
        yield event(EventType.STATUS, rid, {"status": "online"}, at=t(r))
        for n in range(4):
            base = 30 * n + r
            common = {"task_name": "Sort", "start_time": f"{base}", "estimated_duration": 20 + r}
            yield event(
                EventType.JOB, rid, {**common, "status": "started", "items_total": 2}, version=2, at=t(base)
            )
            ending = (
                {"status": "completed", "items_done": 2}
                if n % 2 == 0
                else {"status": "failed", "reason": f"jam {n}"}
            )
            yield event(EventType.JOB, rid, {**common, **ending}, version=2, at=t(base + 5 + 7 * r))
            yield event(EventType.LOG, rid, {"level": "error", "message": f"servo {n} hot"}, at=t(base + 6))
        if r == 2:
            continue  # silent from here: the clock takes it offline
        yield event(EventType.STATUS, rid, {"status": "online"}, at=t(200))
    yield event(EventType.CLOCK_TICK, "_clock", {"period_s": 60, "offline_after_s": 90}, at=t(400))
    yield event(EventType.STATUS, "tonypi_a0", {"status": "offline"}, at=t(420))


async def test_replay_rebuilds_the_analytics_tables_equal_to_the_live_ones(
    js, streams, projector_env, database_url
):
    async with projector_running(projector_env):
        last = 0
        for ev in _fleet_over_midnight():
            last = await publish(js, streams, ev)
        await wait_for_checkpoint(database_url, last)
        live = await snapshot(database_url)
        await replay(load_settings(projector_env), batch_size=4)
        rebuilt = await snapshot(database_url)
    assert rebuilt == live
    utilization = {
        (u["robot_id"], u["day"]): (u["online_us"], u["busy_us"]) for u in live["analytics_utilization"]
    }
    # online from 2 s to midnight (120 s), busy in its four 19 s jobs; then online until its
    # last message (111 s) + 90 s
    assert utilization[("tonypi_a2", "2026-11-30")] == (118 * 10**6, 76 * 10**6)
    assert utilization[("tonypi_a2", "2026-12-01")] == (81 * 10**6, 0)
    assert {o["status"] for o in live["analytics_job_outcomes"]} == {"completed", "failed"}
    assert sum(e["occurrences"] for e in live["analytics_errors"] if e["template"] == "servo <n> hot") == 12
