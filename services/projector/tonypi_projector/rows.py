"""The read tables' rows as immutable values: what folds take and return.

Field names are the table's column names, so the store writes them without a mapping.
Each row type's fields are exactly its table's declared columns (tonypi_events.read_tables),
checked on import; `columns()` gives them in the table's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from tonypi_events import read_tables
from tonypi_events.commanding import OPEN_STATES
from tonypi_events.kinds import (
    BATTERY_THRESHOLD_CRITICAL,
    BATTERY_THRESHOLD_LOW,
    TEMP_THRESHOLD_CRITICAL,
    TEMP_THRESHOLD_WARNING,
)

JsonObject = dict[str, Any]

ACTIVE = "active"


@dataclass(frozen=True)
class Robot:
    id: int
    robot_id: str
    name: str | None
    created_at: datetime
    updated_at: datetime | None = None
    description: str | None = None
    location: str | None = None
    status: str = "offline"
    battery_threshold_low: float = BATTERY_THRESHOLD_LOW
    battery_threshold_critical: float = BATTERY_THRESHOLD_CRITICAL
    temp_threshold_warning: float = TEMP_THRESHOLD_WARNING
    temp_threshold_critical: float = TEMP_THRESHOLD_CRITICAL
    settings: JsonObject | None = None
    last_seen: datetime | None = None
    is_active: bool = True
    telemetry: JsonObject = field(default_factory=dict)
    # Projected from the stream's time (clock_tick): heard within the tick's inactivity
    # timeout and not cleanly reported offline. See docs/alarms.md.
    online: bool = False
    # The firmware profile its messages reveal (tonypi_events.commanding): gen1, gen2, gen2_sim.
    firmware: str | None = None
    # A start_job asked of it, not yet matched to the job it started: {command_id, task_name}.
    pending_start: JsonObject | None = None
    # Stream sequence of the robot's last message: the id of the line saying it went
    # silent derives from it (folds/clock.py), so a replay writes the same line.
    last_seen_seq: int | None = None
    # Stream time up to which its online and busy time is counted (folds/analytics.py).
    accrued_at: datetime | None = None


@dataclass(frozen=True)
class Job:
    id: int
    robot_id: str
    start_time: datetime
    created_at: datetime
    updated_at: datetime | None = None
    end_time: datetime | None = None
    items_total: int | None = None
    items_done: int = 0
    percent_complete: float = 0.0
    last_item: JsonObject | None = None
    status: str = ACTIVE
    task_name: str | None = None
    phase: str | None = None
    reason: str | None = None
    # The robot's own start_time claim (gen 2 announced jobs): with task_name, the job's
    # identity. Null for a job counted from scans and item counters.
    robot_start_time: str | None = None
    command_id: str | None = None  # the start_job command that started it
    estimated_duration: float | None = None  # the robot's own estimate, seconds (gen 2 reports)

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class LogEntry:
    id: int
    level: str
    category: str
    message: str
    robot_id: str | None
    details: JsonObject | None
    timestamp: datetime


@dataclass(frozen=True)
class ApiToken:
    """A row of api_tokens: one per token name; only the token's SHA-256 is kept."""

    name: str
    token_sha256: str
    role: str
    created_at: datetime
    created_by: JsonObject | None = None
    revoked_at: datetime | None = None
    revoked_by: JsonObject | None = None


@dataclass(frozen=True)
class TokenRevocation:
    name: str
    revoked_at: datetime
    revoked_by: JsonObject | None = None


TokenChange = ApiToken | TokenRevocation


@dataclass(frozen=True)
class Alarm:
    """One alarm: raised once, escalated and de-escalated in place, cleared once."""

    id: int
    robot_id: str
    kind: str
    severity: str
    state: str  # open | cleared
    message: str
    raised_at: datetime
    updated_at: datetime
    value: float | None = None  # the reading that last moved it
    threshold: float | None = None  # the threshold it was compared with
    cleared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: JsonObject | None = None  # the actor: {"name", "role"}
    details: JsonObject | None = None


@dataclass(frozen=True)
class AlarmTransition:
    """History: what happened to an alarm, when, by which event and (acks) by whom."""

    id: int
    alarm_id: int
    robot_id: str
    kind: str
    action: str  # tonypi_events.alarms.AlarmAction
    severity: str
    at: datetime
    event_seq: int
    value: float | None = None
    actor: JsonObject | None = None
    message: str | None = None


@dataclass(frozen=True)
class Command:
    """An operator command (or emergency stop press/release) and how it went (docs/commands.md)."""

    command_id: str
    seq: int
    robot_id: str
    type: str
    params: JsonObject
    state: str
    wait: bool
    timeout_s: float
    actor: JsonObject
    requested_at: datetime
    deadline: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    sent_count: int = 0
    finished_at: datetime | None = None
    response: JsonObject | None = None
    # Per targeted robot: {robot_id: {"outcome", "message"?, "via"?}} (commanding.Outcome).
    outcomes: JsonObject | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class Latch:
    """The emergency-stop latch of one robot id ('_fleet': the whole fleet)."""

    robot_id: str
    engaged: bool
    command_id: str
    reason: str | None
    actor: JsonObject
    changed_at: datetime
    seq: int


@dataclass(frozen=True)
class Schedule:
    """A scheduled job dispatch (docs/schedules.md): once at `at`, or on `cron` (UTC)."""

    schedule_id: str
    seq: int  # stream sequence of its job_scheduled event: list order
    robot_ids: list[str]
    task_name: str
    items_total: int
    timeout_s: float
    actor: JsonObject
    state: str  # active | paused | cancelled | done
    created_at: datetime
    updated_at: datetime
    at: datetime | None = None
    cron: str | None = None
    next_fire_at: datetime | None = None  # the next occurrence the clock will fire
    fired: int = 0  # occurrences fired so far


@dataclass(frozen=True)
class Firing:
    """One occurrence of a schedule for one robot: `due` (its start_job is to be appended,
    with `command_id`), then `dispatched` once it is in the stream, or `missed` with a reason."""

    command_id: str
    schedule_id: str
    robot_id: str
    due_at: datetime  # the occurrence's time
    fired_at: datetime  # the clock tick that fired it
    seq: int  # that tick's stream sequence
    state: str  # due | dispatched | missed
    updated_at: datetime
    reason: str | None = None
    dispatched_at: datetime | None = None


class Sample(NamedTuple):
    """One numeric reading of a robot's telemetry history (docs/history.md): a row of
    history_raw, and what the minute and hour rollups fold. `t` is the event's received_at."""

    robot_id: str
    metric: str
    t: datetime
    value: float


Row = TypeVar("Row")


def evolve(row: Row, **changes: Any) -> Row:
    """`dataclasses.replace` without re-running `__init__`: folds call it for every event
    and replace() was the largest cost of a replay. Frozen values stay frozen."""
    unknown = changes.keys() - row.__dict__.keys()
    if unknown:
        raise TypeError(f"{type(row).__name__} has no field {', '.join(sorted(unknown))}")
    new = object.__new__(type(row))
    new.__dict__.update(row.__dict__)
    new.__dict__.update(changes)
    return new


# The table each row type is a row of.
TABLES: dict[type, read_tables.Table] = {
    Robot: read_tables.ROBOTS,
    Job: read_tables.JOBS,
    LogEntry: read_tables.SYSTEM_LOGS,
    ApiToken: read_tables.API_TOKENS,
    Alarm: read_tables.ALARMS,
    AlarmTransition: read_tables.ALARM_TRANSITIONS,
    Command: read_tables.COMMANDS,
    Latch: read_tables.EMERGENCY_STOPS,
    Schedule: read_tables.SCHEDULES,
    Firing: read_tables.SCHEDULE_FIRINGS,
    Sample: read_tables.HISTORY_RAW,
}


def _check_row_types() -> None:
    for row_type, table in TABLES.items():
        names = row_type._fields if issubclass(row_type, tuple) else [f.name for f in fields(row_type)]
        if set(names) != set(table.names):
            raise TypeError(
                f"{row_type.__name__} is not a row of {table.name}: {sorted(set(names) ^ set(table.names))} "
                "on one side only (tonypi_events.read_tables declares the table)"
            )


_check_row_types()


def columns(row_type: type) -> tuple[str, ...]:
    """The columns of `row_type`'s table, in the table's order."""
    return TABLES[row_type].names
