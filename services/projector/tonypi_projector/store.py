"""Reading robot state for a batch and writing its changes, in PostgreSQL.

Table names are unqualified: the connection's search_path picks the live schema or,
for `tonypi replay`, a staging one. Rows are written with one `unnest` statement per
table per batch, so a batch of any size costs a handful of round trips.
"""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg
from tonypi_events.alarms import OPEN
from tonypi_events.commanding import OPEN_STATES
from tonypi_runtime.postgres import CHECKPOINT_CHANNEL, READ_TABLES_PROJECTION
from tonypi_runtime.text import escape_text

from . import bulk, history_store
from .analytics_writes import write_analytics
from .batch import BatchChanges, DeadLetter
from .folds import RobotState
from .folds.commands import CommandBook
from .folds.schedules import ScheduleBook
from .rows import (
    Alarm,
    AlarmTransition,
    ApiToken,
    Command,
    Firing,
    Job,
    Latch,
    LogEntry,
    Robot,
    Schedule,
    TokenRevocation,
    columns,
)

# A dead letter's text columns hold what the event said, escaped and cut to these lengths,
# so recording an event can never fail on the event's content (the raw bytes are kept whole).
DEAD_LETTER_ERROR_CHARS = 2000
DEAD_LETTER_FIELD_CHARS = 256
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class CheckpointMoved(Exception):
    """Another writer (a replay's swap, a second projector) moved the checkpoint."""


# A batch's robots and their open alarms, the ids joined: whatever plan PostgreSQL caches,
# each row is probed by the index or hashed once. Not `robot_id = ANY($1)`: its generic plan,
# once made while the table was small and never analysed (a registration storm's first
# batches), scans the whole table comparing every row with every id, a cost growing with the
# square of the storm (tests/projector/test_lookup_plans.py; docs/performance.md).
SELECT_ROBOTS = (
    f"SELECT {', '.join(f'r.{c}' for c in columns(Robot))} "
    "FROM unnest($1::text[]) AS ids(robot_id) JOIN robots r ON r.robot_id = ids.robot_id"
)
SELECT_OPEN_ALARMS = (
    f"SELECT {', '.join(f'a.{c}' for c in columns(Alarm))} "
    "FROM unnest($1::text[]) AS ids(robot_id) JOIN alarms a ON a.robot_id = ids.robot_id AND a.state = $2"
)


async def load_states(conn: asyncpg.Connection, robot_ids: list[str]) -> dict[str, RobotState]:
    robots = await conn.fetch(SELECT_ROBOTS, robot_ids)
    # A robot's newest job is its active one, if any (a start ends the previous job first);
    # the newest ended one is what a repeated ending or a counter running on refers to.
    job_columns = ", ".join(f"j.{c}" for c in columns(Job))
    jobs = await conn.fetch(
        f"SELECT {job_columns} FROM unnest($1::text[]) AS r(robot_id) CROSS JOIN LATERAL "
        "(SELECT * FROM jobs WHERE jobs.robot_id = r.robot_id ORDER BY id DESC LIMIT 2) AS j "
        "ORDER BY j.robot_id, j.id DESC",
        robot_ids,
    )
    alarms = await conn.fetch(SELECT_OPEN_ALARMS, robot_ids, OPEN)
    open_alarms: dict[str, dict[str, Alarm]] = {}
    for r in alarms:
        open_alarms.setdefault(r["robot_id"], {})[r["kind"]] = Alarm(**dict(r))
    active: dict[str, Job] = {}
    last: dict[str, Job] = {}
    for row in jobs:
        job = Job(**dict(row))
        if job.is_active and job.robot_id not in active and job.robot_id not in last:
            active[job.robot_id] = job
        elif job.robot_id not in last and not job.is_active:
            last[job.robot_id] = job
    states = {
        r["robot_id"]: RobotState(
            robot=Robot(**dict(r)),
            job=active.pop(r["robot_id"], None),
            alarms=open_alarms.get(r["robot_id"], {}),
            last_job=last.pop(r["robot_id"], None),
        )
        for r in robots
    }
    for robot_id in active.keys() | last.keys():  # jobs whose robot row is gone: keep folding them
        states[robot_id] = RobotState(job=active.get(robot_id), last_job=last.get(robot_id))
    return states


# The open command states as SQL literals: as text (not a parameter) so that the planner
# matches idx_commands_open's predicate (migration 0007; tests/events/test_invariants.py).
OPEN_STATES_SQL = ", ".join(f"'{state}'" for state in sorted(OPEN_STATES))


async def load_commands(
    conn: asyncpg.Connection, command_ids: list[str], latches: bool = False
) -> CommandBook:
    """Every open command (any event may time one out) and the ones `command_ids` name; with
    `latches`, whether each emergency-stop latch is engaged (a press or release reads it)."""
    rows = await conn.fetch(
        f"SELECT {', '.join(columns(Command))} FROM commands "
        f"WHERE state IN ({OPEN_STATES_SQL}) OR command_id = ANY($1::text[])",  # idx_commands_open
        command_ids,
    )
    engaged = {}
    if latches:
        engaged = {r[0]: r[1] for r in await conn.fetch("SELECT robot_id, engaged FROM emergency_stops")}
    return CommandBook(commands={r["command_id"]: Command(**dict(r)) for r in rows}, engaged=engaged)


async def load_schedules(
    conn: asyncpg.Connection, schedule_ids: list[str], command_ids: list[str]
) -> ScheduleBook:
    """Every schedule a tick may fire (active) or an operator may resume (paused), and the
    ones `schedule_ids` name; every firing awaiting its command, and those `command_ids` name."""
    schedules = await conn.fetch(
        f"SELECT {', '.join(columns(Schedule))} FROM schedules "
        "WHERE state IN ('active', 'paused') OR schedule_id = ANY($1::text[])",
        schedule_ids,
    )
    firings = await conn.fetch(
        f"SELECT {', '.join(columns(Firing))} FROM schedule_firings "
        "WHERE state = 'due' OR command_id = ANY($1::text[])",  # idx_schedule_firings_due
        command_ids,
    )
    return ScheduleBook(
        schedules={r["schedule_id"]: Schedule(**dict(r)) for r in schedules},
        firings={r["command_id"]: Firing(**dict(r)) for r in firings},
    )


async def ensure_checkpoint(conn: asyncpg.Connection, stream: str) -> int:
    await conn.execute(
        "INSERT INTO projection_checkpoint (projection, stream, last_seq) VALUES ($1, $2, 0) "
        "ON CONFLICT (projection) DO NOTHING",
        READ_TABLES_PROJECTION,
        stream,
    )
    return await read_checkpoint(conn)


async def read_checkpoint(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval(
        "SELECT last_seq FROM projection_checkpoint WHERE projection = $1", READ_TABLES_PROJECTION
    )
    return int(value or 0)


async def write_batch(
    conn: asyncpg.Connection,
    changes: BatchChanges,
    *,
    stream: str,
    expected_seq: int,
    last_seq: int,
    notify: bool = True,
    feed_since: datetime | None = None,
    history: history_store.HistoryPolicy | None = None,
) -> None:
    """Inside the caller's transaction: the rows, the dead letters and the checkpoint
    (compare-and-set from `expected_seq`), then the notification the query service waits on."""
    await write_rows(conn, changes, feed_since=feed_since, history=history)
    await advance_checkpoint(conn, stream=stream, expected_seq=expected_seq, last_seq=last_seq, notify=notify)


async def write_rows(
    conn: asyncpg.Connection,
    changes: BatchChanges,
    *,
    feed_since: datetime | None = None,
    history: history_store.HistoryPolicy | None = None,
) -> None:
    """The changed rows and the dead letters of a batch (or of one event), no checkpoint;
    the telemetry history's samples unless `history` is None or disabled."""
    if changes.robots:
        await conn.execute(bulk.UPSERT_ROBOTS, *bulk.column_arrays(changes.robots.values(), Robot))
    if changes.jobs:
        await conn.execute(bulk.UPSERT_JOBS, *bulk.column_arrays(changes.sorted_jobs(), Job))
    if changes.logs:
        await conn.execute(bulk.INSERT_LOGS, *bulk.column_arrays(changes.logs, LogEntry))
    for change in changes.tokens:  # rare, and order matters (a revoke after a create)
        if isinstance(change, TokenRevocation):
            by = json.dumps(change.revoked_by) if change.revoked_by is not None else None
            await conn.execute(bulk.REVOKE_TOKEN, change.name, change.revoked_at, by)
        else:
            await conn.execute(bulk.UPSERT_TOKEN, *bulk.column_arrays([change], ApiToken))
    if changes.alarms:
        # Ascending ids: an alarm cleared (older) is written before the one raised after it,
        # so the one-open-alarm-per-robot-and-kind index never sees two at once.
        alarms = [changes.alarms[i] for i in sorted(changes.alarms)]
        await conn.execute(bulk.UPSERT_ALARMS, *bulk.column_arrays(alarms, Alarm))
    if changes.transitions:
        await conn.execute(bulk.INSERT_TRANSITIONS, *bulk.column_arrays(changes.transitions, AlarmTransition))
    if changes.counters:
        names = sorted(changes.counters)
        await conn.execute(bulk.ADD_COUNTERS, names, [changes.counters[n] for n in names])
        # Absent means 0: a counter back at 0 goes, so live and replayed tables hold the same
        # rows however the stream was cut into batches.
        await conn.execute(bulk.DROP_ZERO_COUNTERS, names)
    if changes.commands:
        await conn.execute(bulk.UPSERT_COMMANDS, *bulk.column_arrays(changes.commands.values(), Command))
    if changes.latches:
        await conn.execute(bulk.UPSERT_LATCHES, *bulk.column_arrays(changes.latches.values(), Latch))
    if changes.schedules:
        await conn.execute(bulk.UPSERT_SCHEDULES, *bulk.column_arrays(changes.schedules.values(), Schedule))
    if changes.firings:
        await conn.execute(bulk.UPSERT_FIRINGS, *bulk.column_arrays(changes.firings.values(), Firing))
    await write_analytics(conn, changes.analytics)
    feed = [f for f in changes.feed if feed_since is None or f.at >= feed_since]
    if feed:
        await conn.execute(
            bulk.INSERT_FEED,
            [f.seq for f in feed],
            [f.robot_id for f in feed],
            [f.event_type for f in feed],
            [",".join(f.kinds) for f in feed],
            [f.at for f in feed],
            [f.data_json() for f in feed],
        )
    if history is not None:
        await history_store.write_samples(conn, changes.samples, history)
    await write_dead_letters(conn, changes.dead_letters)


def _text(value: object, limit: int) -> str | None:
    return None if value is None else escape_text(str(value), limit)


def dead_letter_row(dead: DeadLetter) -> tuple:
    """The row recording `dead`: every text column escaped (no NUL, no lone surrogate, no
    control character) and bounded, the version NULL when no INTEGER holds it."""
    event = dead.event
    version = event.schema_version if event is not None else None
    return (
        dead.seq,
        _text(event.event_id if event else None, DEAD_LETTER_FIELD_CHARS),
        _text(event.event_type.value if event else None, DEAD_LETTER_FIELD_CHARS),
        version if isinstance(version, int) and INT32_MIN <= version <= INT32_MAX else None,
        _text(event.robot_id if event else None, DEAD_LETTER_FIELD_CHARS),
        _text(dead.error, DEAD_LETTER_ERROR_CHARS),
        bytes(dead.raw),
    )


async def write_dead_letters(conn: asyncpg.Connection, dead_letters: list[DeadLetter]) -> None:
    if dead_letters:
        await conn.executemany(
            "INSERT INTO projection_dead_letters (stream_seq, event_id, event_type, schema_version, "
            "robot_id, error, raw) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (stream_seq) DO NOTHING",
            [dead_letter_row(d) for d in dead_letters],
        )


async def advance_checkpoint(
    conn: asyncpg.Connection, *, stream: str, expected_seq: int, last_seq: int, notify: bool = True
) -> None:
    """Compare-and-set the checkpoint from `expected_seq` to `last_seq`, then notify."""
    moved = await conn.fetchval(
        "UPDATE projection_checkpoint SET last_seq = $1, stream = $2, updated_at = NOW(), "
        "tick_seq = NULL, tick_after = NULL, tick_next_id = NULL "
        "WHERE projection = $3 AND last_seq = $4 RETURNING last_seq",
        last_seq,
        stream,
        READ_TABLES_PROJECTION,
        expected_seq,
    )
    if moved is None:
        raise CheckpointMoved(f"checkpoint is no longer {expected_seq}")
    if notify:
        await conn.execute("SELECT pg_notify($1, $2)", CHECKPOINT_CHANNEL, str(last_seq))
