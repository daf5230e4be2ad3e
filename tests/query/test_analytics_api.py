"""GET /analytics/... over tables the real projector folded from real events, and the
streamed exports of logs and jobs."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import asyncpg

from .conftest import API

MON = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday
NEXT_MON = MON + timedelta(days=7)
RANGE = {"from": "2026-11-01", "to": "2026-11-15"}


def at(day: datetime, seconds: float) -> datetime:
    return day + timedelta(seconds=seconds)


async def _a_day(fleet, robot: str, day: datetime, *, jobs: int, fail: bool = False) -> None:
    """Online 0..1000 s, then offline; `jobs` jobs of 100 s and 5 items each from 100 s, 200 s apart."""
    await fleet.status(robot, at=at(day, 0))
    for n in range(jobs):
        start = 100 + 200 * n
        ident = {"task_name": "Sort", "start_time": f"{day.date()}-{n}", "estimated_duration": 80}
        await fleet.publish_v2(robot, {**ident, "status": "started", "items_total": 5}, at=at(day, start))
        ending = (
            {"status": "failed", "reason": f"gripper {n} jammed"}
            if fail and n == 0
            else {"status": "completed", "items_done": 5}
        )
        await fleet.publish_v2(robot, {**ident, **ending}, at=at(day, start + 100))
    await fleet.log(robot, f"Servo {jobs} overheated at 7{jobs}C", "ERROR", at=at(day, 900))
    await fleet.status(robot, "offline", at=at(day, 1000))


async def _publish(fleet) -> None:
    async def publish_v2(robot, payload, *, at):
        from tonypi_events import EventType

        return await fleet.publish(EventType.JOB, robot, payload, at=at, version=2)

    fleet.publish_v2 = publish_v2
    await _a_day(fleet, "an_1", MON, jobs=2, fail=True)
    await _a_day(fleet, "an_2", MON, jobs=1)
    await _a_day(fleet, "an_1", MON + timedelta(days=1), jobs=3)
    await _a_day(fleet, "an_1", NEXT_MON, jobs=1)
    await fleet.applied()


async def get(api, path: str, **params) -> list[dict]:
    response = await api.get(f"{API}/analytics/{path}", params={**RANGE, **params})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_analytics_by_day_week_robot_and_fleet(api, fleet):
    await _publish(fleet)

    rows = await get(api, "utilization", robot_id="an_1")
    assert rows == [
        {"day": "2026-11-02", "robot_id": "an_1", "online_s": 1000.0, "busy_s": 200.0, "utilization": 0.2},
        {"day": "2026-11-03", "robot_id": "an_1", "online_s": 1000.0, "busy_s": 300.0, "utilization": 0.3},
        {"day": "2026-11-09", "robot_id": "an_1", "online_s": 1000.0, "busy_s": 100.0, "utilization": 0.1},
    ]
    weeks = await get(api, "utilization", bucket="week")  # the fleet, by ISO week
    assert [(w["day"], w["robot_id"], w["online_s"], w["busy_s"]) for w in weeks] == [
        ("2026-11-02", None, 3000.0, 600.0),
        ("2026-11-09", None, 1000.0, 100.0),
    ]
    per_robot = await get(api, "utilization", per_robot="true", to="2026-11-02")
    assert [(r["robot_id"], r["busy_s"]) for r in per_robot] == [("an_1", 200.0), ("an_2", 100.0)]

    [monday] = await get(api, "jobs", to="2026-11-02")
    assert (monday["completed"], monday["failed"], monday["cancelled"], monday["superseded"]) == (2, 1, 0, 0)
    assert monday["reasons"] == [{"status": "failed", "reason": "gripper <n> jammed", "jobs": 1}]

    perf = await get(api, "performance", robot_id="an_1", bucket="week")
    first = perf[0]
    assert (first["day"], first["jobs"], first["items"]) == ("2026-11-02", 4, 20)
    assert first["items_per_hour"] == 20 / (400 / 3600) and first["mean_duration_s"] == 100.0
    assert (first["duration_p50_s"], first["duration_p95_s"]) == (120.0, 120.0)  # 100 s: the <= 120 bucket
    assert (first["estimated_jobs"], first["vs_estimate_p50"]) == (4, 1.25)  # 100 / 80

    errors = await get(api, "errors", limit="3")  # WARNING and above: a clean offline too
    assert [(e["template"], e["occurrences"], e["robots"]) for e in errors] == [
        ("Robot an_<n> is now offline (was online)", 4, 2),
        ("Servo <n> overheated at <n>C", 4, 2),
        ("Job <n> failed on an_<n>", 1, 1),
    ]
    assert errors[1]["example"] == "Servo 2 overheated at 72C"
    assert (errors[1]["first_day"], errors[1]["last_day"]) == ("2026-11-02", "2026-11-09")


async def test_analytics_refuse_a_bad_range(api, projector):
    for params in (
        {"from": "2026-11-10", "to": "2026-11-01"},
        {"from": "2024-01-01", "to": "2026-01-01"},
        {"bucket": "month"},
        {"from": "yesterday"},
    ):
        response = await api.get(f"{API}/analytics/utilization", params=params)
        assert response.status == 422, params


async def _logs(api, fmt: str, **params) -> str:
    response = await api.get(f"{API}/logs/export", params={"format": fmt, **params})
    assert response.status == 200, await response.text()
    return await response.text()


async def test_exports_match_the_reads_and_keep_robot_text_as_data(api, fleet):
    await fleet.log("exp_1", '=HYPERLINK("http://x","click")', "ERROR")
    await fleet.log("exp_1", "-2+3", "WARNING")
    await fleet.log("exp_1", 'plain, with "quotes"\nand a newline')
    await fleet.job("exp_1", "started", items_total=3, task_name="Sort")
    await fleet.applied()
    read = await (await api.get(f"{API}/logs", params={"robot_id": "exp_1", "category": "robot_main"})).json()

    lines = (await _logs(api, "jsonl", robot_id="exp_1", category="robot_main")).splitlines()
    assert [json.loads(line) for line in lines] == read

    rows = list(csv.DictReader(io.StringIO(await _logs(api, "csv", robot_id="exp_1", category="robot_main"))))
    assert [r["id"] for r in rows] == [str(r["id"]) for r in read]
    messages = [r["message"] for r in rows]
    assert messages == ['plain, with "quotes"\nand a newline', "'-2+3", '\'=HYPERLINK("http://x","click")']

    jobs = await api.get(f"{API}/jobs/export", params={"robot_id": "exp_1"})
    assert jobs.headers["Content-Type"].startswith("text/csv")
    [job] = list(csv.DictReader(io.StringIO(await jobs.text())))
    assert (job["status"], job["items_total"], job["task_name"], job["end_time"]) == (
        "active",
        "3",
        "Sort",
        "",
    )


async def test_a_large_export_streams_in_bounded_memory(api, fleet, database_url):
    await fleet.status("big_1")
    await fleet.applied()
    rows, message = 40_000, "x" * 1000
    conn = await asyncpg.connect(database_url)
    try:  # 40 MB of lines, written straight into the read table: this test is about reading them
        await conn.execute(
            "INSERT INTO system_logs (id, level, category, message, robot_id, timestamp) "
            "SELECT -n, 'INFO', 'bulk', $1, 'big_1', now() - n * interval '1 ms' "
            "FROM generate_series(1, $2) AS n",
            message,
            rows,
        )
    finally:
        await conn.close()
    tracemalloc.start()
    try:
        response = await api.get(f"{API}/logs/export", params={"format": "jsonl", "category": "bulk"})
        assert response.status == 200
        received, lines = 0, 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            received += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == rows and received > rows * len(message)
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {received}-byte export"


async def test_exports_beyond_the_limit_are_refused_while_others_stream(api, fleet, database_url):
    await fleet.status("busy_1")
    await fleet.applied()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO system_logs (id, level, category, message, robot_id, timestamp) "
            "SELECT -n, 'INFO', 'bulk', repeat('y', 1000), 'busy_1', now() FROM generate_series(1, 5000) n"
        )
    finally:
        await conn.close()
    params = {"format": "csv", "category": "bulk"}
    held = [await api.get(f"{API}/logs/export", params=params) for _ in range(2)]
    try:
        assert [r.status for r in held] == [200, 200]
        refused = await api.get(f"{API}/jobs/export")
        assert refused.status == 503 and "exports" in (await refused.json())["detail"]
    finally:
        for response in held:
            response.close()


async def test_an_export_that_fails_midway_is_cut_not_ended(api, fleet, database_url):
    """The database connection dies after the first rows went out: the client sees a
    truncated transfer (no final chunk), never a complete-looking short file."""
    import aiohttp

    await fleet.status("cut_1")
    await fleet.applied()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO system_logs (id, level, category, message, robot_id, timestamp) "
            "SELECT -n, 'INFO', 'bulk', repeat('z', 1000), 'cut_1', now() FROM generate_series(1, 20000) n"
        )
        response = await api.get(f"{API}/logs/export", params={"format": "jsonl", "category": "bulk"})
        assert response.status == 200
        first = await response.content.readline()
        assert json.loads(first)["robot_id"] == "cut_1"
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%system_logs%'"
        )
        assert killed == 1
        try:
            rest = await asyncio.wait_for(response.content.read(), 20)
        except aiohttp.ClientPayloadError:
            pass
        except TimeoutError:
            raise AssertionError("the export neither ended nor was cut: the client waits forever") from None
        else:
            raise AssertionError(f"the export ended cleanly after {len(rest)} more bytes")
    finally:
        await conn.close()
