"""The alarm endpoints' models (the robot object's `active_alarms` is in models.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from tonypi_events.alarms import ALARM_ACTIONS, ALARM_KINDS, ALARM_STATES, SEVERITIES

from .fields import (
    BEFORE_FIELD,
    INT64_MAX,
    MAX_PAGE_SIZE,
    QUERY_CONFIG,
    Cursor,
    SeedRobotFilter,
    TimeFilter,
    UtcDateTime,
)

# The projector's sets (one home: tonypi_events.alarms); a value outside them is a 422.
AlarmKind = Literal[ALARM_KINDS]  # type: ignore[valid-type]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
AlarmState = Literal[ALARM_STATES]  # type: ignore[valid-type]


class AlarmsQuery(BaseModel):
    model_config = QUERY_CONFIG

    limit: int = Field(50, ge=0, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    robot_id: SeedRobotFilter | None = None
    kind: AlarmKind | None = None
    severity: Severity | None = None
    state: AlarmState | None = Field(None, description="open (active) or cleared")
    acknowledged: bool | None = None
    since: TimeFilter | None = Field(None, description="only alarms raised at or after this time (ISO 8601)")
    until: TimeFilter | None = Field(None, description="only alarms raised before this time (ISO 8601)")
    before: Cursor | None = BEFORE_FIELD


class AlarmPath(BaseModel):
    id: int = Field(ge=0, le=INT64_MAX)


class Actor(BaseModel):
    name: str
    role: str | None = None


class AlarmOut(BaseModel):
    id: int
    robot_id: str
    kind: str
    severity: str
    state: str = Field(description="open or cleared")
    message: str
    raised_at: UtcDateTime
    updated_at: UtcDateTime
    value: float | None = Field(description="the reading that last moved it")
    threshold: float | None = Field(description="the robot's threshold it was compared with")
    cleared_at: UtcDateTime | None
    acknowledged_at: UtcDateTime | None
    acknowledged_by: Actor | None
    details: Any


class AlarmTransitionOut(BaseModel):
    id: int
    action: str = Field(description=f"{', '.join(ALARM_ACTIONS[:-1])} or {ALARM_ACTIONS[-1]}")
    severity: str
    at: UtcDateTime
    event_seq: int = Field(description="the stream sequence of the event that caused it")
    value: float | None
    actor: Actor | None = Field(description="who acknowledged (acknowledged only)")
    message: str | None


class AlarmDetailOut(AlarmOut):
    transitions: list[AlarmTransitionOut]
