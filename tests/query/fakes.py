"""In-memory read and write sides for the query app: the fast tier tests the HTTP layer
(validation, error mapping, status codes, headers) through `init_app` with these, no
PostgreSQL or NATS.

`FakeReads` has exactly the public reads of `tonypi_query.reads.Reads`, with the same
signatures, and answers what they answer for the same rows: tests/query/test_reads_contract.py
runs one contract against both. Rows go in with `insert(table, **row)`, as the projector
would write them (a column left out takes the table's default). History, analytics and
schedule reads answer as over tables that hold nothing of theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tonypi_events import read_tables
from tonypi_events.alarms import OPEN
from tonypi_query import reads as real
from tonypi_runtime.postgres import READ_TABLES_PROJECTION
from tonypi_runtime.tokens import new_api_token, token_digest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
Row = dict[str, Any]


# The columns a robot row holds as Reads returns it (ROBOT_COLUMNS: the served ones).
ROBOT_COLUMNS = tuple(c.served_name for c in read_tables.ROBOTS.served_columns if c.name != "telemetry")


def robot_row(robot_id: str, **fields: Any) -> Row:
    """A robots row as the projector writes a registered robot (created and updated at NOW)."""
    row = dict.fromkeys(ROBOT_COLUMNS) | {
        "id": 1,
        "robot_id": robot_id,
        "battery_threshold_low": 20.0,
        "battery_threshold_critical": 10.0,
        "temp_threshold_warning": 70.0,
        "temp_threshold_critical": 85.0,
        "settings": {},
        "created_at": NOW,
        "updated_at": NOW,
        "is_active": True,
        "online": False,
        "firmware": None,
        "telemetry": {},
    }
    unknown = fields.keys() - row.keys() - {"telemetry"}
    if unknown:
        raise TypeError(f"robots has no served column {', '.join(sorted(unknown))}")
    return {**row, **fields}


# What a column left out of `insert` holds (the migrations' defaults; NULL otherwise).
DEFAULTS: dict[str, Row] = {
    "commands": {"params": {}, "wait": False, "sent_count": 0},
    "jobs": {"items_done": 0, "percent_complete": 0.0, "status": "active"},  # created_at: the projector's
    "projection_counters": {"value": 0},
}


def _names(columns: str) -> list[tuple[str, str]]:
    """(column, name in the row) of a reads.py column list: `seq AS sequence` is ("seq", "sequence")."""
    pairs = []
    for part in columns.split(","):
        column, _, alias = part.strip().partition(" AS ")
        pairs.append((column, alias or column))
    return pairs


def _project(row: Row, columns: str) -> Row:
    return {name: row.get(column) for column, name in _names(columns)}


def _newest_first(
    rows: list[Row], sort_column: str, cursor: tuple[datetime, int] | None, limit: int
) -> list[Row]:
    ordered = sorted(rows, key=lambda r: (r[sort_column], r["id"]), reverse=True)
    if cursor is not None:
        ordered = [r for r in ordered if (r[sort_column], r["id"]) < cursor]
    return ordered[:limit]


@dataclass
class FakeReads:
    robots: dict[str, Row] = field(default_factory=dict)  # the robots table, by robot id
    tables: dict[str, list[Row]] = field(default_factory=dict)  # every other table's rows
    fail_with: BaseException | None = None  # every read raises this, as a broken database would
    calls: list[str] = field(default_factory=list)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # digest -> (name, role)

    def _read(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_with is not None:
            raise self.fail_with

    def _rows(self, table: str) -> list[Row]:
        return self.tables.get(table, [])

    def _robot_out(self, row: Row) -> Row:
        open_alarms = sorted(
            (a for a in self._rows("alarms") if a["robot_id"] == row["robot_id"] and a["state"] == OPEN),
            key=lambda a: a["kind"],
        )
        active = [
            {
                "id": a["id"],
                "kind": a["kind"],
                "severity": a["severity"],
                "message": a["message"],
                "raised_at": a["raised_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
                "acknowledged": a.get("acknowledged_at") is not None,
            }
            for a in open_alarms
        ]
        return {**_project(row, real.ROBOT_COLUMNS), "active_alarms": active, "firmware": row.get("firmware")}

    async def robot(self, robot_id: str):
        self._read("robot")
        row = self.robots.get(robot_id)
        return self._robot_out(row) if row is not None else None

    async def active_robots(self):
        self._read("active_robots")
        return [
            self._robot_out(r) for r in sorted(self.robots.values(), key=lambda r: r["id"]) if r["is_active"]
        ]

    async def robot_page(self, query, after):
        self._read("robot_page")
        rows = sorted((r for r in self.robots.values() if r["is_active"]), key=lambda r: r["robot_id"])
        for column in ("online", "status", "location"):
            wanted = getattr(query, column)
            if wanted is not None:
                rows = [r for r in rows if r[column] == wanted]
        if query.prefix is not None:
            rows = [r for r in rows if r["robot_id"].startswith(query.prefix)]
        return [self._robot_out(r) for r in rows if after is None or r["robot_id"] > after][: query.limit]

    async def robot_exists(self, robot_id: str) -> bool:
        self._read("robot_exists")
        return robot_id in self.robots

    async def telemetry(self, robot_id: str):
        self._read("telemetry")
        row = self.robots.get(robot_id)
        return (
            {k: row.get(k) for k in ("robot_id", "status", "last_seen", "telemetry", "online")}
            if row
            else None
        )

    async def job(self, job_id: int):
        self._read("job")
        found = [r for r in self._rows("jobs") if r["id"] == job_id]
        return _project(found[0], real.JOB_COLUMNS) if found else None

    async def logs(self, query, cursor, hidden_categories=()):
        self._read("logs")
        rows = [r for r in self._rows("system_logs") if r["category"] not in hidden_categories]
        return [_project(r, real.LOG_COLUMNS) for r in _newest_first(rows, "timestamp", cursor, query.limit)]

    async def jobs(self, query, cursor):
        self._read("jobs")
        rows = [r for r in self._rows("jobs") if query.robot_id is None or r["robot_id"] == query.robot_id]
        return [_project(r, real.JOB_COLUMNS) for r in _newest_first(rows, "start_time", cursor, query.limit)]

    async def counters(self):
        self._read("counters")
        wanted = {*real.FLEET_COUNTERS, real.completed_today_counter()}
        return {
            r["name"]: r["value"]
            for r in self._rows("projection_counters")
            if r["name"] in wanted or r["name"].startswith("alarms_open:")
        }

    async def alarms(self, query, cursor):
        self._read("alarms")
        rows = self._rows("alarms")
        for column in ("robot_id", "kind", "severity", "state"):
            wanted = getattr(query, column)
            if wanted is not None:
                rows = [r for r in rows if r[column] == wanted]
        if query.acknowledged is not None:
            rows = [r for r in rows if (r.get("acknowledged_at") is not None) == query.acknowledged]
        return [
            _project(r, real.ALARM_COLUMNS) for r in _newest_first(rows, "raised_at", cursor, query.limit)
        ]

    async def alarm(self, alarm_id: int):
        self._read("alarm")
        found = [r for r in self._rows("alarms") if r["id"] == alarm_id]
        return _project(found[0], real.ALARM_COLUMNS) if found else None

    async def transitions(self, alarm_id: int):
        self._read("transitions")
        rows = sorted(
            (r for r in self._rows("alarm_transitions") if r["alarm_id"] == alarm_id), key=lambda r: r["id"]
        )
        return [_project(r, real.TRANSITION_COLUMNS) for r in rows]

    async def worst_robots(self, n: int):
        self._read("worst_robots")
        return [], []  # telemetry-derived: the contract covers robots without telemetry only

    async def command(self, command_id: str):
        self._read("command")
        found = [r for r in self._rows("commands") if r["command_id"] == command_id]
        return _project(found[0], real.COMMAND_COLUMNS) if found else None

    async def commands(self, robot_id: str, limit: int, before_seq: int | None):
        self._read("commands")
        rows = [
            r
            for r in self._rows("commands")
            if r["robot_id"] == robot_id and (before_seq is None or r["seq"] < before_seq)
        ]
        rows.sort(key=lambda r: r["seq"], reverse=True)
        return [_project(r, real.COMMAND_COLUMNS) for r in rows[:limit]]

    async def latch(self, robot_id: str):
        self._read("latch")
        found = [r for r in self._rows("emergency_stops") if r["robot_id"] == robot_id]
        return _project(found[0], real.LATCH_COLUMNS) if found else None

    async def latches(self):
        self._read("latches")
        rows = sorted(self._rows("emergency_stops"), key=lambda r: r["robot_id"])
        return [_project(r, real.LATCH_COLUMNS) for r in rows]

    async def checkpoint(self) -> int:
        rows = [r for r in self._rows("projection_checkpoint") if r["projection"] == READ_TABLES_PROJECTION]
        return rows[-1]["last_seq"] if rows else 0

    async def api_token(self, digest: str):
        # Not a recorded read, and never failing: the token check is tests/query/test_auth*.py's
        # subject; these fakes test what comes after it.
        found = self.tokens.get(digest)
        return (*found, digest) if found is not None else None

    async def ping(self) -> None:
        self._read("ping")

    # Schedules, analytics and history: as over tables holding nothing of theirs.
    async def schedule(self, schedule_id: str):
        self._read("schedule")
        return None

    async def schedules(self, limit: int, before_seq: int | None):
        self._read("schedules")
        return []

    async def firings(self, schedule_id: str, limit: int, before):
        self._read("firings")
        return []

    async def due_firings(self, window_s: float):
        self._read("due_firings")
        return []

    async def utilization(self, query):
        self._read("utilization")
        return []

    async def job_outcomes(self, query):
        self._read("job_outcomes")
        return []

    async def performance(self, query):
        self._read("performance")
        return [], []

    async def error_patterns(self, query):
        self._read("error_patterns")
        return []

    async def export(self, sql: str, args: list[Any]) -> AsyncIterator[Row]:
        self._read("export")
        for row in ():
            yield row

    async def history(self, robot_id: str, metrics, start, end, step_s: int, source: str):
        self._read("history")
        return []

    async def fleet_history(self, metric: str, start, end, source: str, order: str, limit: int):
        self._read("fleet_history")
        return []


def insert(reads: FakeReads, table: str, **row: Any) -> None:
    """A row of `table` as the projector writes it; the robots table takes robot_row's defaults."""
    if table == "robots":
        reads.robots[row["robot_id"]] = robot_row(**row)
    elif table == "api_tokens":
        if row.get("revoked_at") is None:
            reads.tokens[row["token_sha256"]] = (row["name"], row["role"])
    else:
        reads.tables.setdefault(table, []).append({**DEFAULTS.get(table, {}), **row})


def grant(reads: FakeReads, name: str, role: str) -> str:
    """A token of this name and role, as api_tokens would hold it; returns the token."""
    token = new_api_token()
    insert(reads, "api_tokens", name=name, role=role, token_sha256=token_digest(token))
    return token
