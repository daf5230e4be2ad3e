"""One contract for the read side (eventsourcing's way: one test case, every backend). A
backend has `reads` and `async insert(table, **row)`: the same rows go in as the projector
writes them, the same answers must come out. test_reads_contract.py runs it against the fake
(tests/query/fakes.py) and against the real `Reads` over PostgreSQL after the projector's
migrations."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from tonypi_query.alarm_models import AlarmsQuery
from tonypi_query.models import JobsQuery, LogsQuery, RobotsQuery
from tonypi_query.reads import Reads
from tonypi_runtime.postgres import READ_TABLES_PROJECTION, use_json_codecs

from tests.conftest import PG_ADMIN_URL
from tests.support.databases import create_database

from . import fakes
from .fakes import FakeReads, robot_row

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACTOR = {"name": "ops", "role": "operator", "via": "token"}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def alarm(
    alarm_id: int, robot_id: str, kind: str, *, minutes: float, state: str = "open", **more: Any
) -> dict:
    return {
        "id": alarm_id,
        "robot_id": robot_id,
        "kind": kind,
        "severity": "warning",
        "state": state,
        "message": f"{kind} on {robot_id}",
        "raised_at": at(minutes),
        "updated_at": at(minutes),
        "cleared_at": at(minutes + 1) if state == "cleared" else None,
        **more,
    }


def command(command_id: str, robot_id: str, seq: int, **more: Any) -> dict:
    return {
        "command_id": command_id,
        "seq": seq,
        "robot_id": robot_id,
        "type": "move",
        "state": "requested",
        "timeout_s": 10.0,
        "actor": ACTOR,
        "requested_at": at(seq),
        "deadline": at(seq + 1),
        "updated_at": at(seq),
        **more,
    }


class ReadsContract:
    """Subclasses provide `backend`: an object with `reads` and `async insert(table, **row)`."""

    @pytest.fixture
    def backend(self):
        raise NotImplementedError

    async def test_an_empty_read_side_answers_nothing(self, backend):
        reads = backend.reads
        assert await reads.robot("r1") is None
        assert await reads.robot_exists("r1") is False
        assert await reads.telemetry("r1") is None
        assert await reads.active_robots() == []
        assert await reads.robot_page(RobotsQuery(), None) == []
        assert await reads.job(1) is None
        assert await reads.jobs(JobsQuery(), None) == []
        assert await reads.logs(LogsQuery(), None) == []
        assert await reads.counters() == {}
        assert await reads.alarms(AlarmsQuery(), None) == []
        assert await reads.alarm(1) is None
        assert await reads.transitions(1) == []
        assert await reads.worst_robots(3) == ([], [])
        assert await reads.command("c1") is None
        assert await reads.commands("r1", 10, None) == []
        assert await reads.latch("r1") is None
        assert await reads.latches() == []
        assert await reads.checkpoint() == 0
        assert await reads.api_token("0" * 64) is None
        assert await reads.schedule("s1") is None
        assert await reads.schedules(10, None) == []
        assert await reads.firings("s1", 10, None) == []
        assert await reads.due_firings(60.0) == []
        assert [row async for row in reads.export("SELECT 1 WHERE false", [])] == []
        await reads.ping()

    async def test_a_robot_reads_back_with_its_open_alarms(self, backend):
        await backend.insert("robots", **robot_row("r1", id=1, name="One", location="Dock", firmware="gen2"))
        await backend.insert("alarms", **alarm(10, "r1", "temperature", minutes=1))
        await backend.insert("alarms", **alarm(11, "r1", "battery", minutes=2, acknowledged_at=at(3)))
        await backend.insert("alarms", **alarm(12, "r1", "servo", minutes=0, state="cleared"))
        row = dict(await backend.reads.robot("r1"))
        assert (row["robot_id"], row["name"], row["location"], row["firmware"]) == (
            "r1",
            "One",
            "Dock",
            "gen2",
        )
        assert "telemetry" not in row
        assert [(a["id"], a["kind"], a["acknowledged"]) for a in row["active_alarms"]] == [
            (11, "battery", True),
            (10, "temperature", False),
        ]
        assert row["active_alarms"][1]["raised_at"] == "2026-12-01T12:01:00.000000+00:00"  # exact UTC text
        assert await backend.reads.robot_exists("r1") is True
        telemetry = dict(await backend.reads.telemetry("r1"))
        assert telemetry == {
            "robot_id": "r1",
            "status": None,
            "last_seen": None,
            "telemetry": {},
            "online": False,
        }

    async def test_pages_hold_active_robots_in_code_point_order_after_the_cursor(self, backend):
        for n, robot_id in enumerate(["b", "a", "B", "c", "gone"], start=1):
            online = robot_id in ("a", "c")
            await backend.insert(
                "robots", **robot_row(robot_id, id=n, online=online, is_active=robot_id != "gone")
            )
        page = await backend.reads.robot_page(RobotsQuery(limit=2), None)
        assert [r["robot_id"] for r in page] == ["B", "a"]
        page = await backend.reads.robot_page(RobotsQuery(limit=2), "a")
        assert [r["robot_id"] for r in page] == ["b", "c"]
        online = await backend.reads.robot_page(RobotsQuery(online=True), None)
        assert [r["robot_id"] for r in online] == ["a", "c"]
        assert [r["robot_id"] for r in await backend.reads.active_robots()] == ["b", "a", "B", "c"]

    async def test_alarms_page_newest_first_and_filter(self, backend):
        await backend.insert("alarms", **alarm(1, "r1", "battery", minutes=1, state="cleared"))
        await backend.insert("alarms", **alarm(2, "r2", "battery", minutes=2))
        await backend.insert("alarms", **alarm(3, "r1", "temperature", minutes=2))
        await backend.insert("alarms", **alarm(4, "r1", "servo", minutes=3, acknowledged_at=at(4)))
        page = await backend.reads.alarms(AlarmsQuery(limit=3), None)
        assert [a["id"] for a in page] == [4, 3, 2]
        rest = await backend.reads.alarms(AlarmsQuery(limit=3), (page[-1]["raised_at"], page[-1]["id"]))
        assert [a["id"] for a in rest] == [1]
        open_r1 = await backend.reads.alarms(
            AlarmsQuery(robot_id="r1", state="open", acknowledged=False), None
        )
        assert [a["id"] for a in open_r1] == [3]
        assert dict(await backend.reads.alarm(4))["acknowledged_at"] == at(4)

    async def test_an_alarms_history_in_order(self, backend):
        for transition_id, action in ((7, "escalated"), (5, "raised"), (9, "cleared")):
            await backend.insert(
                "alarm_transitions",
                id=transition_id,
                alarm_id=2,
                robot_id="r1",
                kind="battery",
                action=action,
                severity="warning",
                at=at(transition_id),
                event_seq=100 + transition_id,
            )
        history = await backend.reads.transitions(2)
        assert [(t["id"], t["action"]) for t in history] == [(5, "raised"), (7, "escalated"), (9, "cleared")]
        assert "robot_id" not in dict(history[0])
        assert await backend.reads.transitions(3) == []

    async def test_commands_by_id_and_a_robots_newest_first(self, backend):
        await backend.insert("commands", **command("c1", "r1", 1))
        await backend.insert("commands", **command("c2", "r2", 2))
        await backend.insert(
            "commands", **command("c3", "r1", 3, state="sent", sent_count=1, params={"x": 1})
        )
        one = dict(await backend.reads.command("c3"))
        assert (one["sequence"], one["state"], one["params"], one["sent_count"]) == (3, "sent", {"x": 1}, 1)
        assert (one["wait"], one["outcomes"], one["actor"]) == (False, None, ACTOR)
        assert "seq" not in one
        assert [c["command_id"] for c in await backend.reads.commands("r1", 10, None)] == ["c3", "c1"]
        assert [c["command_id"] for c in await backend.reads.commands("r1", 1, 3)] == ["c1"]

    async def test_emergency_stop_latches(self, backend):
        for robot_id, engaged in (("r2", True), ("r1", False)):
            await backend.insert(
                "emergency_stops",
                robot_id=robot_id,
                engaged=engaged,
                command_id=f"e-{robot_id}",
                actor=ACTOR,
                changed_at=T0,
                seq=1,
            )
        assert dict(await backend.reads.latch("r2")) == {
            "robot_id": "r2",
            "engaged": True,
            "command_id": "e-r2",
            "reason": None,
            "actor": ACTOR,
            "changed_at": T0,
        }
        assert [(r["robot_id"], r["engaged"]) for r in await backend.reads.latches()] == [
            ("r1", False),
            ("r2", True),
        ]

    async def test_counters_checkpoint_and_tokens(self, backend):
        await backend.insert("projection_counters", name="robots_total", value=3)
        await backend.insert("projection_counters", name="alarms_open:battery:warning", value=1)
        await backend.insert("projection_counters", name="jobs_completed:2000-01-01", value=9)  # another day
        assert await backend.reads.counters() == {"robots_total": 3, "alarms_open:battery:warning": 1}
        await backend.insert("projection_checkpoint", projection="other", stream="S", last_seq=99)
        assert await backend.reads.checkpoint() == 0
        await backend.insert(
            "projection_checkpoint", projection=READ_TABLES_PROJECTION, stream="S", last_seq=42
        )
        assert await backend.reads.checkpoint() == 42
        digest, revoked = "a" * 64, "b" * 64
        await backend.insert("api_tokens", name="ops", role="operator", token_sha256=digest, created_at=T0)
        await backend.insert(
            "api_tokens", name="old", role="admin", token_sha256=revoked, created_at=T0, revoked_at=T0
        )
        assert await backend.reads.api_token(digest) == ("ops", "operator", digest)
        assert await backend.reads.api_token(revoked) is None

    async def test_jobs_and_logs_newest_first(self, backend):
        for job_id, robot_id, status in ((1, "r1", "completed"), (2, "r2", "active"), (3, "r1", "active")):
            await backend.insert("jobs", id=job_id, robot_id=robot_id, start_time=at(job_id), status=status)
        assert [j["id"] for j in await backend.reads.jobs(JobsQuery(robot_id="r1"), None)] == [3, 1]
        assert dict(await backend.reads.job(2))["robot_id"] == "r2"
        for log_id, category in ((1, "robot"), (2, "auth"), (3, "command")):
            await backend.insert(
                "system_logs", id=log_id, level="INFO", category=category, message="m", timestamp=at(log_id)
            )
        shown = await backend.reads.logs(LogsQuery(limit=5), None, ("auth",))
        assert [r["id"] for r in shown] == [3, 1]


class FakeBackend:
    def __init__(self) -> None:
        self.reads = FakeReads()

    async def insert(self, table: str, **row: Any) -> None:
        fakes.insert(self.reads, table, **row)


class PostgresBackend:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.reads = Reads(pool, concurrency=4)

    async def insert(self, table: str, **row: Any) -> None:
        columns = ", ".join(row)
        values = ", ".join(f"${n}" for n in range(1, len(row) + 1))
        await self.pool.execute(f"INSERT INTO {table} ({columns}) VALUES ({values})", *row.values())


@contextlib.asynccontextmanager
async def migrated(database_url: str) -> AsyncIterator[PostgresBackend]:
    """The test's database with the projector's migrations applied and nothing folded into it."""
    await create_database(database_url, PG_ADMIN_URL)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4, init=use_json_codecs)
    try:
        yield PostgresBackend(pool)
    finally:
        await pool.close()
