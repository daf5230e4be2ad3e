"""The API's pydantic models: they validate requests, shape responses and are the only
source of the OpenAPI document (`openapi.py` reads them, nothing is kept by hand)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, model_validator
from tonypi_events import commanding
from tonypi_events.kinds import (
    BATTERY_THRESHOLD_CRITICAL,
    BATTERY_THRESHOLD_LOW,
    TEMP_THRESHOLD_CRITICAL,
    TEMP_THRESHOLD_WARNING,
)

from .fields import (
    BEFORE_FIELD,
    INT64_MAX,
    MAX_PAGE_SIZE,
    QUERY_CONFIG,
    SINCE_FIELD,
    UNTIL_FIELD,
    Cursor,
    FilterText,
    LongText,
    RobotCursor,
    RobotId,
    RobotStatus,
    SeedFilterText,
    SeedRobotFilter,
    ShortText,
    TimeFilter,
    UtcDateTime,
)

# --- requests -----------------------------------------------------------------------------


class RobotCreate(BaseModel):
    """POST /robots. Defaults are the seed's; `name` defaults to `robot_id`."""

    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as documented: "9" is no number

    robot_id: RobotId
    name: ShortText | None = None
    description: LongText | None = None
    location: ShortText | None = None
    battery_threshold_low: FiniteFloat = BATTERY_THRESHOLD_LOW
    battery_threshold_critical: FiniteFloat = BATTERY_THRESHOLD_CRITICAL
    temp_threshold_warning: FiniteFloat = TEMP_THRESHOLD_WARNING
    temp_threshold_critical: FiniteFloat = TEMP_THRESHOLD_CRITICAL


class RobotUpdate(BaseModel):
    """PUT /robots/{robot_id}. Only the fields sent with a value are changed: a null leaves
    the field as it is, as the seed did (dashboards send whole forms with empty fields)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # JSON types as documented: "9" is no number

    name: ShortText | None = None
    description: LongText | None = None
    location: ShortText | None = None
    status: RobotStatus | None = None
    battery_threshold_low: FiniteFloat | None = None
    battery_threshold_critical: FiniteFloat | None = None
    temp_threshold_warning: FiniteFloat | None = None
    temp_threshold_critical: FiniteFloat | None = None
    is_active: bool | None = None


class RobotPath(BaseModel):
    robot_id: RobotId


class JobPath(BaseModel):
    id: int = Field(ge=0, le=INT64_MAX)


# The robot list: keyset pages by robot id (code point order), so a page costs the same at
# any depth of a fleet of any size; a bounded page by default, the rest through `Link`.
ROBOTS_PAGE_DEFAULT = 100


class RobotsQuery(BaseModel):
    model_config = QUERY_CONFIG

    limit: int = Field(
        ROBOTS_PAGE_DEFAULT, ge=0, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}"
    )
    online: bool | None = Field(None, description="only robots online (true) or offline (false)")
    status: FilterText | None = Field(None, description="only robots whose stored status is this")
    location: FilterText | None = Field(None, description="only robots at this location (exact)")
    prefix: FilterText | None = Field(None, description="only robots whose id starts with this")
    after: RobotCursor | None = Field(
        None, description="the `after` value from the previous page's Link header"
    )


# Shared by both paged lists. Unknown query parameters are ignored, as FastAPI did.
class LogsQuery(BaseModel):
    model_config = QUERY_CONFIG

    limit: int = Field(100, ge=0, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    level: SeedFilterText | None = Field(None, description="compared upper-cased: error matches ERROR")
    category: SeedFilterText | None = None
    robot_id: SeedRobotFilter | None = None
    q: FilterText | None = Field(None, description="case-insensitive substring of the message")
    since: TimeFilter | None = SINCE_FIELD
    until: TimeFilter | None = UNTIL_FIELD
    before: Cursor | None = BEFORE_FIELD


class JobsQuery(BaseModel):
    model_config = QUERY_CONFIG

    limit: int = Field(50, ge=0, le=MAX_PAGE_SIZE, description=f"page size, at most {MAX_PAGE_SIZE}")
    robot_id: SeedRobotFilter | None = None
    status: FilterText | None = Field(None, description="active, completed, cancelled, failed or superseded")
    since: TimeFilter | None = Field(None, description="only jobs started at or after this time (ISO 8601)")
    until: TimeFilter | None = Field(None, description="only jobs started before this time (ISO 8601)")
    before: Cursor | None = BEFORE_FIELD


# --- responses ----------------------------------------------------------------------------


class ActiveAlarmOut(BaseModel):
    """An open alarm, as listed on its robot (the whole alarm: GET /alarms/{id})."""

    id: int
    kind: str
    severity: str
    message: str
    raised_at: UtcDateTime
    acknowledged: bool


class RobotOut(BaseModel):
    id: int
    robot_id: str
    name: str | None
    description: str | None
    location: str | None
    status: str | None = Field(description="what the robot last said (or an operator set)")
    battery_threshold_low: float | None
    battery_threshold_critical: float | None
    temp_threshold_warning: float | None
    temp_threshold_critical: float | None
    settings: Any
    last_seen: UtcDateTime | None
    created_at: UtcDateTime | None
    updated_at: UtcDateTime | None
    is_active: bool | None
    online: bool = Field(
        description="heard within the inactivity timeout and not reported offline, as of the stream's "
        "clock (projected; docs/alarms.md)"
    )
    active_alarms: list[ActiveAlarmOut] = Field(
        default_factory=list, description="its open alarms, at most one per kind"
    )
    firmware: str | None = Field(
        None,
        description="gen1, gen2 or gen2_sim, as its messages reveal it; null until known (docs/commands.md)",
    )
    command_types: list[str] = Field(
        default_factory=list,
        description="the command types it takes (every type while its firmware is unknown)",
    )

    @model_validator(mode="after")
    def _capabilities(self) -> RobotOut:
        if not self.command_types:
            self.command_types = [t for t in commanding.COMMAND_TYPES if commanding.takes(self.firmware, t)]
        return self


class JobOut(BaseModel):
    id: int
    robot_id: str
    start_time: UtcDateTime
    end_time: UtcDateTime | None
    items_total: int | None
    items_done: int | None
    percent_complete: float | None
    last_item: Any
    status: str | None
    created_at: UtcDateTime | None
    updated_at: UtcDateTime | None
    task_name: str | None
    phase: str | None
    reason: str | None
    command_id: str | None = Field(None, description="the start_job command that started it, if one did")


class LogOut(BaseModel):
    id: int
    level: str
    category: str
    message: str
    robot_id: str | None
    details: Any
    timestamp: UtcDateTime | None


class StatsOut(BaseModel):
    total_robots: int
    online_robots: int
    offline_robots: int
    total_jobs: int
    active_jobs: int
    completed_jobs_today: int
    active_alarms: int = Field(0, description="open alarms, all kinds")
    active_alarms_by_severity: dict[str, int] = Field(default_factory=dict, description="warning, critical")
    active_alarms_by_kind: dict[str, int] = Field(default_factory=dict)


class TelemetryPart(BaseModel):
    """One part of the snapshot as the projector last folded it. Fields the firmware adds
    later are passed through."""

    model_config = ConfigDict(extra="allow")

    received_at: UtcDateTime | None = Field(None, description="server time this part was last received")


class BatteryPart(TelemetryPart):
    percentage: float | None = None
    voltage: float | None = None
    charging: bool | None = None
    current: float | None = None
    temperature: float | None = None


class LocationPart(TelemetryPart):
    x: float | None = None
    y: float | None = None
    z: float | None = None
    heading: float | None = None


class SystemInfoPart(TelemetryPart):
    platform: str | None = None
    cpu_percent: float | None = None
    memory_percent: float | None = None
    disk_usage: float | None = None
    temperature: float | None = None
    uptime: float | str | None = None
    ip_address: str | None = None


class SensorReading(TelemetryPart):
    value: float | None = None
    unit: str | None = None


class ServosPart(TelemetryPart):
    servo_count: int | None = None
    max_temperature: float | None = None
    worst_alert: str | None = None
    alerts: dict[str, int] | None = None
    servos: dict[str, dict[str, Any]] | None = None


class TelemetryOut(BaseModel):
    robot_id: str
    status: str | None
    online: bool
    last_seen: UtcDateTime | None
    battery: BatteryPart | None = None
    location: LocationPart | None = None
    system_info: SystemInfoPart | None = None
    sensors: dict[str, SensorReading] = Field(
        default_factory=dict, description="latest reading per sensor type"
    )
    servos: ServosPart | None = None
    vision: TelemetryPart | None = None


class MessageOut(BaseModel):
    message: str


class AcceptedOut(BaseModel):
    """The write is recorded as an event but the projector has not applied it yet."""

    message: str
    event_sequence: int
    location: str


class ErrorOut(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[ValidationIssue]
