"""The read side: parameterised SQL over the projector's read tables. No writes here, ever."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from tonypi_events import read_tables
from tonypi_events.alarms import OPEN
from tonypi_runtime.postgres import READ_TABLES_PROJECTION

from .alarm_models import AlarmsQuery
from .analytics_reads import AnalyticsReads
from .errors import Unavailable
from .history_reads import HistoryReads
from .models import JobsQuery, LogsQuery, RobotsQuery
from .schedule_reads import ScheduleReads

# What the API serves of each table (tonypi_events.read_tables declares which columns).
# The robot's: its snapshot has SELECT_TELEMETRY; firmware comes after active_alarms (_ROBOT_SELECT).
ROBOT_COLUMNS = read_tables.ROBOTS.select(omit=("telemetry", "firmware"))
JOB_COLUMNS = read_tables.JOBS.select()
LOG_COLUMNS = read_tables.SYSTEM_LOGS.select()
ALARM_COLUMNS = read_tables.ALARMS.select()
TRANSITION_COLUMNS = read_tables.ALARM_TRANSITIONS.select()
COMMAND_COLUMNS = read_tables.COMMANDS.select()
LATCH_COLUMNS = read_tables.EMERGENCY_STOPS.select()

# The robot's open alarms (at most one per kind: the partial unique index answers this).
# Times as exact UTC text: the JSON text of a timestamptz depends on the session's TimeZone
# and trims its fraction; epoch seconds as a float would round micro-seconds.
_ACTIVE_ALARMS = f"""(SELECT coalesce(json_agg(json_build_object(
    'id', a.id, 'kind', a.kind, 'severity', a.severity, 'message', a.message,
    'raised_at', to_char(a.raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
    'acknowledged', a.acknowledged_at IS NOT NULL)
    ORDER BY a.kind), '[]'::json) FROM alarms a WHERE a.robot_id = robots.robot_id AND a.state = '{OPEN}')
    AS active_alarms"""

# `online` is projected: folded from the stream's clock by the projector (docs/alarms.md).
# In RobotOut's field order, so robot_json writes each row without a lookup per field.
_ROBOT_SELECT = f"SELECT {ROBOT_COLUMNS}, {_ACTIVE_ALARMS}, firmware FROM robots"
SELECT_ROBOT = f"{_ROBOT_SELECT} WHERE robot_id = $1"
SELECT_ACTIVE_ROBOTS = f"{_ROBOT_SELECT} WHERE is_active ORDER BY id"
SELECT_TELEMETRY = "SELECT robot_id, status, last_seen, telemetry, online FROM robots WHERE robot_id = $1"
ROBOT_EXISTS = "SELECT EXISTS (SELECT 1 FROM robots WHERE robot_id = $1)"
SELECT_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
SELECT_COMMAND = f"SELECT {COMMAND_COLUMNS} FROM commands WHERE command_id = $1"
SELECT_LATCH = f"SELECT {LATCH_COLUMNS} FROM emergency_stops WHERE robot_id = $1"
SELECT_LATCHES = f"SELECT {LATCH_COLUMNS} FROM emergency_stops ORDER BY robot_id"
SELECT_CHECKPOINT = "SELECT last_seq FROM projection_checkpoint WHERE projection = $1"
SELECT_API_TOKEN = (
    "SELECT name, role, token_sha256 FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL"
)
SELECT_ALARM = f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = $1"
SELECT_TRANSITIONS = f"SELECT {TRANSITION_COLUMNS} FROM alarm_transitions WHERE alarm_id = $1 ORDER BY id"

# /stats and the fleet gauges: the counters the projector keeps in its batch transactions
# (tonypi_projector.counters), one small table, never a count over the read tables.
SELECT_COUNTERS = (
    "SELECT name, value FROM projection_counters WHERE name = ANY($1::text[]) OR name LIKE 'alarms_open:%'"
)
FLEET_COUNTERS = ("robots_total", "robots_online", "jobs_total", "jobs_active")

# The worst robots by battery and by temperature, for bounded per-robot gauges.
SELECT_LOWEST_BATTERIES = """
SELECT robot_id, (telemetry->'battery'->>'percentage')::float8 AS value FROM robots
 WHERE is_active AND jsonb_typeof(telemetry->'battery'->'percentage') = 'number'
 ORDER BY value ASC, robot_id LIMIT $1"""
SELECT_HOTTEST = """
SELECT robot_id, value FROM (
  SELECT robot_id, CASE
    WHEN jsonb_typeof(telemetry->'system_info'->'cpu_temperature') = 'number'
      THEN (telemetry->'system_info'->>'cpu_temperature')::float8
    WHEN jsonb_typeof(telemetry->'system_info'->'temperature') = 'number'
      THEN (telemetry->'system_info'->>'temperature')::float8
    WHEN jsonb_typeof(telemetry->'sensors'->'cpu_temperature'->'value') = 'number'
      THEN (telemetry->'sensors'->'cpu_temperature'->>'value')::float8
  END AS value FROM robots WHERE is_active) t
 WHERE value IS NOT NULL ORDER BY value DESC, robot_id LIMIT $1"""


def _like_pattern(text: str) -> str:
    """A substring match for ILIKE with the user's %, _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def completed_today_counter() -> str:
    """The projector counts completed jobs per UTC day (by end_time); "today" is the reader's."""
    return f"jobs_completed:{datetime.now(UTC).date().isoformat()}"


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

    def add_if_set(self, template: str, value: Any, convert: Callable[[Any], Any] | None = None) -> None:
        """`add(template, value)` unless the filter was left out (None); `convert` the value first."""
        if value is not None:
            self.add(template, convert(value) if convert is not None else value)

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


def _prefix_end(prefix: str) -> str | None:
    """The least string above every string starting with `prefix`, in code point order
    (which COLLATE "C" is, for UTF-8); None when there is none."""
    for cut in range(len(prefix), 0, -1):
        point = ord(prefix[cut - 1]) + 1
        point = 0xE000 if 0xD800 <= point <= 0xDFFF else point  # surrogates: not text
        if point <= 0x10FFFF:
            return prefix[: cut - 1] + chr(point)
    return None


def robots_sql(query: RobotsQuery, after: str | None) -> tuple[str, list[Any]]:
    """One keyset page of active robots by robot id in code point order (COLLATE "C": the
    same order whatever the database's collation), read through idx_robots_active_page
    and its filtered siblings (migration 0012)."""
    where = _Where()
    where.clauses.append("is_active")
    where.add_if_set("online = {}", query.online)
    where.add_if_set("status = {}", query.status)
    where.add_if_set("location = {}", query.location)
    if query.prefix is not None:
        where.add('robot_id COLLATE "C" >= {}', query.prefix)
        end = _prefix_end(query.prefix)
        if end is not None:
            where.add('robot_id COLLATE "C" < {}', end)
    where.add_if_set('robot_id COLLATE "C" > {}', after)
    where.args.append(query.limit)
    return (
        f'{_ROBOT_SELECT} {where.sql()} ORDER BY robot_id COLLATE "C" LIMIT ${len(where.args)}',
        where.args,
    )


def logs_sql(
    query: LogsQuery, cursor: tuple[datetime, int] | None, hidden_categories: tuple[str, ...] = ()
) -> tuple[str, list[Any]]:
    where = _Where()
    if hidden_categories:
        where.add("category <> ALL({})", list(hidden_categories))
    where.add_if_set("level = {}", query.level, str.upper)
    where.add_if_set("category = {}", query.category)
    where.add_if_set("robot_id = {}", query.robot_id)
    where.add_if_set("timestamp >= {}", query.since)
    where.add_if_set("timestamp < {}", query.until)
    where.add_if_set("message ILIKE {}", query.q, _like_pattern)
    return where.newest_first(f"SELECT {LOG_COLUMNS} FROM system_logs", "timestamp", cursor, query.limit)


def jobs_sql(query: JobsQuery, cursor: tuple[datetime, int] | None) -> tuple[str, list[Any]]:
    where = _Where()
    where.add_if_set("robot_id = {}", query.robot_id)
    where.add_if_set("status = {}", query.status)
    where.add_if_set("start_time >= {}", query.since)
    where.add_if_set("start_time < {}", query.until)
    return where.newest_first(f"SELECT {JOB_COLUMNS} FROM jobs", "start_time", cursor, query.limit)


def alarms_sql(query: AlarmsQuery, cursor: tuple[datetime, int] | None) -> tuple[str, list[Any]]:
    where = _Where()
    where.add_if_set("robot_id = {}", query.robot_id)
    where.add_if_set("kind = {}", query.kind)
    where.add_if_set("severity = {}", query.severity)
    where.add_if_set("state = {}", query.state)
    where.add_if_set("(acknowledged_at IS NOT NULL) = {}", query.acknowledged)
    where.add_if_set("raised_at >= {}", query.since)
    where.add_if_set("raised_at < {}", query.until)
    return where.newest_first(f"SELECT {ALARM_COLUMNS} FROM alarms", "raised_at", cursor, query.limit)


class Reads(ScheduleReads, AnalyticsReads, HistoryReads):
    """Every query the API runs. Callers queue for a connection in arrival order: asyncpg's
    pool lets a newcomer take a just-released connection ahead of those already waiting,
    which under load starves a few requests for hundreds of milliseconds."""

    def __init__(
        self,
        pool: asyncpg.Pool | None,
        concurrency: int,
        probe: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
    ) -> None:
        self._pool = pool  # None until `attach`: the pool opens at startup, after wiring
        self._slots = asyncio.Semaphore(concurrency)  # FIFO-fair since Python 3.11.1
        # /readyz asks on a connection of its own, outside the queue and the pool: busy or
        # slow reads say nothing about whether the database answers.
        self._probe_connect = probe
        self._probe: asyncpg.Connection | None = None
        self._probe_lock = asyncio.Lock()

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
        return await self._fetchrow(SELECT_ROBOT, robot_id)

    async def active_robots(self) -> list[asyncpg.Record]:
        return await self._fetch(SELECT_ACTIVE_ROBOTS)

    async def robot_page(self, query: RobotsQuery, after: str | None) -> list[asyncpg.Record]:
        sql, args = robots_sql(query, after)
        return await self._fetch(sql, *args)

    async def robot_exists(self, robot_id: str) -> bool:
        return await self._fetchval(ROBOT_EXISTS, robot_id)

    async def telemetry(self, robot_id: str) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_TELEMETRY, robot_id)

    async def job(self, job_id: int) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_JOB, job_id)

    async def logs(
        self, query: LogsQuery, cursor: tuple[datetime, int] | None, hidden_categories: tuple[str, ...] = ()
    ) -> list[asyncpg.Record]:
        sql, args = logs_sql(query, cursor, hidden_categories)
        return await self._fetch(sql, *args)

    async def jobs(self, query: JobsQuery, cursor: tuple[datetime, int] | None) -> list[asyncpg.Record]:
        sql, args = jobs_sql(query, cursor)
        return await self._fetch(sql, *args)

    async def counters(self) -> dict[str, int]:
        """The fleet counters and the open-alarm counts; absent ones are 0."""
        rows = await self._fetch(SELECT_COUNTERS, [*FLEET_COUNTERS, completed_today_counter()])
        return {r["name"]: r["value"] for r in rows}

    async def alarms(self, query: AlarmsQuery, cursor: tuple[datetime, int] | None) -> list[asyncpg.Record]:
        sql, args = alarms_sql(query, cursor)
        return await self._fetch(sql, *args)

    async def alarm(self, alarm_id: int) -> asyncpg.Record | None:
        return await self._fetchrow(SELECT_ALARM, alarm_id)

    async def transitions(self, alarm_id: int) -> list[asyncpg.Record]:
        return await self._fetch(SELECT_TRANSITIONS, alarm_id)

    async def worst_robots(self, n: int) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
        """The n lowest batteries and the n hottest CPUs among active robots."""
        return await self._fetch(SELECT_LOWEST_BATTERIES, n), await self._fetch(SELECT_HOTTEST, n)

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
        """Whether PostgreSQL answers, on the probe connection (reopened when lost)."""
        if self._probe_connect is None:
            await self._fetchval("SELECT 1")
            return
        async with self._probe_lock:
            try:
                if self._probe is None or self._probe.is_closed():
                    self._probe = await self._probe_connect()
                await self._probe.fetchval("SELECT 1")
            except BaseException:
                await self.close_probe()
                raise

    async def close_probe(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.terminate()
