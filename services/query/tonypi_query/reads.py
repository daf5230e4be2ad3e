"""The read side: parameterised SQL over the projector's read tables. No writes here, ever."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
from tonypi_runtime.postgres import READ_TABLES_PROJECTION

from .errors import Unavailable
from .models import JobsQuery, LogsQuery

ROBOT_COLUMNS = """id, robot_id, name, description, location, status, battery_threshold_low,
    battery_threshold_critical, temp_threshold_warning, temp_threshold_critical, settings,
    last_seen, created_at, updated_at, is_active"""

JOB_COLUMNS = """id, robot_id, start_time, end_time, items_total, items_done, percent_complete,
    last_item, status, created_at, updated_at, task_name, phase, reason"""

LOG_COLUMNS = "id, level, category, message, robot_id, details, timestamp"

# Online: seen within the timeout ($1, seconds) and not cleanly reported offline. A robot that
# loses power never says "offline"; its last_seen simply ages out.
ONLINE = (
    "(last_seen IS NOT NULL AND last_seen >= now() - make_interval(secs => $1)"
    " AND status IS DISTINCT FROM 'offline')"
)

_ROBOT_SELECT = f"SELECT {ROBOT_COLUMNS}, {ONLINE} AS online FROM robots"
SELECT_ROBOT = f"{_ROBOT_SELECT} WHERE robot_id = $2"
SELECT_ACTIVE_ROBOTS = f"{_ROBOT_SELECT} WHERE is_active ORDER BY id"
SELECT_TELEMETRY = (
    f"SELECT robot_id, status, last_seen, telemetry, {ONLINE} AS online FROM robots WHERE robot_id = $2"
)
ROBOT_EXISTS = "SELECT EXISTS (SELECT 1 FROM robots WHERE robot_id = $1)"
SELECT_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
COMMAND_COLUMNS = """command_id, robot_id, type, params, state, wait, timeout_s, actor, requested_at,
    deadline, sent_at, sent_count, finished_at, response, seq AS sequence"""
SELECT_COMMAND = f"SELECT {COMMAND_COLUMNS} FROM commands WHERE command_id = $1"
SELECT_LATCH = (
    "SELECT robot_id, engaged, command_id, reason, actor, changed_at FROM emergency_stops WHERE robot_id = $1"
)
SELECT_LATCHES = (
    "SELECT robot_id, engaged, command_id, reason, actor, changed_at FROM emergency_stops ORDER BY robot_id"
)
SELECT_CHECKPOINT = "SELECT last_seq FROM projection_checkpoint WHERE projection = $1"
SELECT_API_TOKEN = (
    "SELECT name, role, token_sha256 FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL"
)

SELECT_STATS = f"""
SELECT
  (SELECT count(*) FROM robots WHERE is_active) AS total_robots,
  (SELECT count(*) FROM robots WHERE is_active AND {ONLINE}) AS online_robots,
  (SELECT count(*) FROM jobs) AS total_jobs,
  (SELECT count(*) FROM jobs WHERE status = 'active') AS active_jobs,
  (SELECT count(*) FROM jobs WHERE status = 'completed'
     AND end_time >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS completed_jobs_today
"""

SELECT_FLEET_COUNTS = f"""
SELECT count(*) AS total, count(*) FILTER (WHERE {ONLINE}) AS online FROM robots WHERE is_active
"""


def _like_pattern(text: str) -> str:
    """A substring match for ILIKE with the user's %, _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Where:
    """WHERE clauses whose values are always bind parameters, never text in the SQL."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        """`template` holds `{}` once per value; each becomes the next $n."""
        placeholders = []
        for value in values:
            self.args.append(value)
            placeholders.append(f"${len(self.args)}")
        self.clauses.append(template.format(*placeholders))

    def sql(self) -> str:
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""

    def newest_first(
        self, select: str, sort_column: str, cursor: tuple[datetime, int] | None, limit: int
    ) -> tuple[str, list[Any]]:
        """One keyset page of `select` (constant text): newest `sort_column` first, ties by id,
        starting after `cursor`."""
        if cursor is not None:
            self.add(f"({sort_column}, id) < ({{}}, {{}})", *cursor)
        self.args.append(limit)
        return (
            f"{select} {self.sql()} ORDER BY {sort_column} DESC, id DESC LIMIT ${len(self.args)}",
            self.args,
        )


def logs_sql(query: LogsQuery, cursor: tuple[datetime, int] | None) -> tuple[str, list[Any]]:
    where = _Where()
    if query.level is not None:
        where.add("level = {}", query.level.upper())
    if query.category is not None:
        where.add("category = {}", query.category)
    if query.robot_id is not None:
        where.add("robot_id = {}", query.robot_id)
    if query.since is not None:
        where.add("timestamp >= {}", query.since)
    if query.until is not None:
        where.add("timestamp < {}", query.until)
    if query.q is not None:
        where.add("message ILIKE {}", _like_pattern(query.q))
    return where.newest_first(f"SELECT {LOG_COLUMNS} FROM system_logs", "timestamp", cursor, query.limit)


def jobs_sql(query: JobsQuery, cursor: tuple[datetime, int] | None) -> tuple[str, list[Any]]:
    where = _Where()
    if query.robot_id is not None:
        where.add("robot_id = {}", query.robot_id)
    if query.status is not None:
        where.add("status = {}", query.status)
    if query.since is not None:
        where.add("start_time >= {}", query.since)
    if query.until is not None:
        where.add("start_time < {}", query.until)
    return where.newest_first(f"SELECT {JOB_COLUMNS} FROM jobs", "start_time", cursor, query.limit)


class Reads:
    """Every query the API runs. Callers queue for a connection in arrival order: asyncpg's
    pool lets a newcomer take a just-released connection ahead of those already waiting,
    which under load starves a few requests for hundreds of milliseconds."""

    def __init__(self, pool: asyncpg.Pool | None, online_timeout: float, concurrency: int) -> None:
        self._pool = pool  # None until `attach`: the pool opens at startup, after wiring
        self._online_timeout = online_timeout
        self._slots = asyncio.Semaphore(concurrency)  # FIFO-fair since Python 3.11.1

    def attach(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise Unavailable("The database is not connected yet; retry later")
        return self._pool

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._slots:
            return await self.pool.fetch(sql, *args)

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._slots:
            return await self.pool.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        async with self._slots:
            return await self.pool.fetchval(sql, *args)

    async def robot(self, robot_id: str) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_ROBOT, self._online_timeout, robot_id)

    async def active_robots(self) -> list[asyncpg.Record]:
        return await self._fetch(SELECT_ACTIVE_ROBOTS, self._online_timeout)

    async def robot_exists(self, robot_id: str) -> bool:
        return await self._fetchval(ROBOT_EXISTS, robot_id)

    async def telemetry(self, robot_id: str) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_TELEMETRY, self._online_timeout, robot_id)

    async def job(self, job_id: int) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_JOB, job_id)

    async def logs(self, query: LogsQuery, cursor: tuple[datetime, int] | None) -> list[asyncpg.Record]:
        sql, args = logs_sql(query, cursor)
        return await self._fetch(sql, *args)

    async def jobs(self, query: JobsQuery, cursor: tuple[datetime, int] | None) -> list[asyncpg.Record]:
        sql, args = jobs_sql(query, cursor)
        return await self._fetch(sql, *args)

    async def stats(self) -> asyncpg.Record:
        return await self._fetchrow(SELECT_STATS, self._online_timeout)

    async def fleet_counts(self) -> asyncpg.Record:
        return await self._fetchrow(SELECT_FLEET_COUNTS, self._online_timeout)

    async def command(self, command_id: str) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_COMMAND, command_id)

    async def commands(self, robot_id: str, limit: int, before_seq: int | None) -> list[asyncpg.Record]:
        """One page of a robot's commands, newest first (keyset on the request's sequence)."""
        return await self._fetch(
            f"SELECT {COMMAND_COLUMNS} FROM commands WHERE robot_id = $1 AND seq < $2 "
            "ORDER BY seq DESC LIMIT $3",
            robot_id,
            before_seq if before_seq is not None else 2**63 - 1,
            limit,
        )

    async def latch(self, robot_id: str) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_LATCH, robot_id)

    async def latches(self) -> list[asyncpg.Record]:
        return await self._fetch(SELECT_LATCHES)

    async def checkpoint(self) -> int:
        """The projector's last applied stream sequence; 0 before it has migrated or applied."""
        try:
            return await self._fetchval(SELECT_CHECKPOINT, READ_TABLES_PROJECTION) or 0
        except asyncpg.UndefinedTableError:
            return 0

    async def api_token(self, digest: str) -> tuple[str, str, str] | None:
        """(name, role, digest) of the unrevoked token with this SHA-256, if any."""
        try:
            row = await self._fetchrow(SELECT_API_TOKEN, digest)
        except asyncpg.UndefinedTableError:  # the projector has not migrated yet: no tokens
            return None
        return (row["name"], row["role"], row["token_sha256"]) if row is not None else None

    async def ping(self) -> None:
        await self._fetchval("SELECT 1")
