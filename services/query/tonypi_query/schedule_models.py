"""Models of the schedule endpoints (docs/schedules.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .command_models import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S
from .fields import MAX_PAGE_SIZE, Cursor, RobotCursor, RobotId, UtcDateTime

MAX_ROBOTS = 100
MAX_ITEMS = 100_000
# A one-off a little in the past (clock skew, a slow client) still fires at the next tick;
# anything older is refused rather than recorded as missed at once.
PAST_TOLERANCE = timedelta(seconds=30)
ScheduleId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
TaskName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _cron(value: str) -> str:
    """A 5-field cron expression (minute hour day month weekday), parsed by cronsim."""
    if len(value.split()) != 5:
        raise ValueError("cron takes five fields: minute hour day-of-month month day-of-week")
    try:
        next(CronSim(value, datetime.now(UTC)))
    except (CronSimError, StopIteration) as exc:
        raise ValueError(f"not a cron expression cronsim accepts: {exc}") from None
    return value


def _unique(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("robot_ids lists each robot once")
    return value


class ScheduleCreate(BaseModel):
    """POST /schedules: a job dispatch (`start_job` with task_name and items_total) to each
    robot of `robot_ids`, once `at` a time or on a `cron` recurrence (UTC): one of the two."""

    model_config = ConfigDict(extra="forbid")

    robot_ids: Annotated[list[RobotId], AfterValidator(_unique)] = Field(
        min_length=1, max_length=MAX_ROBOTS, description="the robots to start the job on (a group: list them)"
    )
    task_name: TaskName
    items_total: int = Field(ge=1, le=MAX_ITEMS, strict=True)
    at: UtcDateTime | None = Field(None, description="once, at this time (ISO 8601 with an offset)")
    cron: Annotated[str, StringConstraints(max_length=128), AfterValidator(_cron)] | None = Field(
        None, description="on this recurrence: 5 fields, evaluated in UTC, e.g. `0 8 * * 1-5`"
    )
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, ge=0.1, le=MAX_TIMEOUT_S, description="seconds each robot has to answer"
    )

    @model_validator(mode="after")
    def _one_when(self) -> ScheduleCreate:
        if (self.at is None) == (self.cron is None):
            raise ValueError("give exactly one of `at` (once) and `cron` (a recurrence)")
        if self.at is not None:
            if self.at.tzinfo is None:
                raise ValueError("`at` needs a UTC offset")
            if self.at < datetime.now(UTC) - PAST_TOLERANCE:
                raise ValueError("`at` is in the past")
        return self


class SchedulePath(BaseModel):
    schedule_id: ScheduleId


class FiringsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(100, ge=1, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    before: RobotCursor | None = Field(
        None, description="the `before` value from the previous page's Link header"
    )


class SchedulesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(50, ge=0, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    before: Cursor | None = Field(None, description="the `before` value from the previous page's Link header")


class ScheduleOut(BaseModel):
    schedule_id: str
    robot_ids: list[str]
    task_name: str
    items_total: int
    at: UtcDateTime | None
    cron: str | None
    timeout_s: float
    state: Literal["active", "paused", "cancelled", "done"]
    next_fire_at: UtcDateTime | None = Field(description="the next occurrence the stream's clock will fire")
    fired: int = Field(description="occurrences fired so far")
    actor: dict[str, Any] = Field(description="who scheduled it: {name, role}")
    created_at: UtcDateTime
    updated_at: UtcDateTime
    sequence: int = Field(description="stream sequence of job_scheduled")


class FiringOut(BaseModel):
    command_id: str = Field(description="the start_job command's id (GET /commands/{command_id})")
    schedule_id: str
    robot_id: str
    due_at: UtcDateTime
    fired_at: UtcDateTime
    state: Literal["due", "dispatched", "missed"]
    reason: str | None = Field(description="why it was missed")
    dispatched_at: UtcDateTime | None
    command_state: str | None = Field(description="the command's state, once dispatched")


class ScheduleAcceptedOut(BaseModel):
    message: str
    schedule_id: str
    event_sequence: int
    location: str
