"""One pydantic model per message kind, in every schema version still in the stream.

Models accept unknown extra fields and keep them: firmware grows fields and they belong
in the event. A known field with the wrong type is a validation error. Every string the
projector stores in a column, or uses as a key, is bounded here (`Label`, `Text`,
`Int32` from tonypi_events.bounds), so a message ingest admits can always be stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from . import commanding
from .bounds import Count, Int32, Label, Number, Text


class Payload(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    robot_id: Label | None = None  # the robot-id rule itself: tonypi_events.identity
    timestamp: Label | None = None


class SystemInfo(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    platform: Label | None = None
    cpu_percent: Number | None = None
    memory_percent: Number | None = None
    disk_usage: Number | None = None
    temperature: Number | None = None
    uptime: Number | str | None = None
    # gen 2
    cpu_temperature: Number | None = None
    # MQTT.md gives no type for these; deployed firmware sends booleans, other builds strings.
    hardware_mode: Any = None
    hardware_sdk: Any = None


class StatusV1(Payload):
    """Gen 1 and gen 2 share one schema: gen 2 only adds optional fields."""

    status: Label
    system_info: SystemInfo | None = None
    ip_address: Label | None = None
    camera_url: Text | None = None
    hardware_available: StrictBool | None = None
    emergency_stopped: StrictBool | None = None
    emergency_reason: Text | None = None


class SensorV1(Payload):
    sensor_type: Label
    value: Number | None = None
    unit: Label | None = None


class BatteryV1(Payload):
    percentage: Number | None = None
    voltage: Number | None = None
    charging: StrictBool | None = None
    current: Number | None = None
    temperature: Number | None = None


class LocationV1(Payload):
    x: Number | None = None
    y: Number | None = None
    z: Number | None = None
    heading: Number | None = None


class ScanV1(Payload):
    """Gen 1: `{"qr": ...}`."""

    qr: Text


class ScanV2(Payload):
    """Gen 2: the code moved to `qr_data`, with the station and action beside it."""

    qr_data: Text
    station_name: Label | None = None
    action: Label | None = None


class JobV1(Payload):
    """Gen 1: `percent`, and status `working` or `completed`."""

    percent: Number | None = None
    status: Label | None = None
    items_done: Count | None = None
    items_total: Count | None = None


class JobV2(Payload):
    task_name: Label | None = None
    status: Label | None = None
    phase: Label | None = None
    elapsed_time: Number | None = None
    estimated_duration: Number | None = None
    action_duration: Number | None = None
    success: StrictBool | None = None
    reason: Text | None = None
    items_done: Count | None = None
    items_total: Count | None = None
    progress_percent: Number | None = None
    # What the deployed gen-2 client's job reports also carry (contract/MQTT.md, "What the
    # robots' client really does"). Untyped on purpose: they were accepted as extra fields
    # before they were named here, and naming them must not make ingest reject anything.
    start_time: Any = None  # the robot's clock; with task_name, the job's identity
    end_time: Any = None
    percent: Any = None  # gen 2 says percent where the table's shape says progress_percent
    last_item: Any = None  # the robot's own last item, e.g. {"item_id": "ITEM_0004", ...}


class CommandResponseV1(Payload):
    command_id: Label | None = None
    success: StrictBool | None = None
    message: Text | None = None
    status: Label | None = None
    data: Any = None


class ServoState(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: Int32 | None = None
    name: Label | None = None
    position: Number | None = None
    temperature: Number | None = None
    voltage: Number | None = None
    torque_enabled: StrictBool | None = None
    alert_level: Label | None = None


class ServosV1(Payload):
    servo_count: Count | None = None
    servos: dict[str, ServoState] = Field(default_factory=dict)


class VisionV1(Payload):
    detection: StrictBool | None = None
    label: Label | None = None
    confidence: Number | None = None
    bbox: Any = None
    center_x: Number | None = None
    frame_width: Number | None = None
    state: Label | None = None
    is_locked: StrictBool | None = None
    navigation_command: Label | None = None
    error: Any = None  # untyped in MQTT.md; the firmware sends its steering offset, a number


class LogV1(Payload):
    level: Label = "INFO"
    message: Text
    source: Label | None = None


# The seed's threshold defaults (REST.md): what the API fills in, the event carries and the
# row starts with, when an operator or an auto-registration says nothing.
BATTERY_THRESHOLD_LOW = 20.0
BATTERY_THRESHOLD_CRITICAL = 10.0
TEMP_THRESHOLD_WARNING = 70.0
TEMP_THRESHOLD_CRITICAL = 80.0


class Actor(BaseModel):
    """Who made a write: the API token's (or OIDC subject's) name and role. Events written
    before authentication existed carry none."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: Label
    role: Label | None = None


class RobotRegisteredV1(Payload):
    """An operator created a robot (POST). Field defaults are the seed's."""

    robot_id: str
    actor: Actor | None = None
    name: Text | None = None  # the API bounds these more tightly (tonypi_query.models)
    description: Text | None = None
    location: Text | None = None
    battery_threshold_low: Number = BATTERY_THRESHOLD_LOW
    battery_threshold_critical: Number = BATTERY_THRESHOLD_CRITICAL
    temp_threshold_warning: Number = TEMP_THRESHOLD_WARNING
    temp_threshold_critical: Number = TEMP_THRESHOLD_CRITICAL


class RobotUpdatedV1(Payload):
    """An operator changed a robot (PUT). `changes` holds only the fields sent."""

    robot_id: str
    changes: dict[str, Any]
    actor: Actor | None = None


class RobotDeactivatedV1(Payload):
    """An operator deleted a robot (DELETE): a soft delete."""

    robot_id: str
    actor: Actor | None = None


class IngestRejectedV1(Payload):
    """Ingest refused a message. The raw bytes are in the dead-letter stream at `dead_letter_subject`."""

    reason: str  # machine-readable code, see tonypi_events.rejections
    detail: str  # what a person reads
    topic: Text
    size: int
    dead_letter_subject: Text | None = None


class TokenCreatedV1(Payload):
    """`tonypi token create`: an API token exists. Only the SHA-256 of the token is here;
    the token itself was shown once to whoever made it. A later token of the same name
    replaces the earlier one."""

    name: Label
    role: Label
    token_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    actor: Actor | None = None


class TokenRevokedV1(Payload):
    """`tonypi token revoke`: the token of this name no longer authenticates."""

    name: Label
    actor: Actor | None = None


# --- operator commands (docs/commands.md) ------------------------------------------------

# The vocabulary (types per firmware, states, outcomes) lives in tonypi_events.commanding.
COMMAND_TYPES = commanding.COMMAND_TYPES
ALLOWED_WHILE_STOPPED = commanding.ALLOWED_WHILE_STOPPED
# Per targeted robot, what the query service decided (commanding.Plan). Absent in events
# written before capabilities were known: then the robot (or, for `_fleet`, whoever answers)
# is sent the command as asked.
TargetPlan = dict[Label, Label]


class CommandRequestedV1(Payload):
    """An operator asked for a command (POST /robots/{id}/commands). robot_id `_fleet`: broadcast."""

    robot_id: str
    command_id: Label
    type: Label
    params: dict[str, Any] = Field(default_factory=dict)
    timeout_s: Number
    wait: StrictBool = False  # hold it for an offline robot (until timeout_s) instead of expiring it
    robot_online: StrictBool | None = None  # what the API saw when it was asked; None for a broadcast
    actor: Actor
    plan: TargetPlan | None = None  # robot id -> commanding.Plan


class EmergencyStopV1(Payload):
    """An operator pressed (engaged) or released (resume) the emergency stop of a robot or,
    robot_id `_fleet`, of the whole fleet. The latch is the last of these per robot id."""

    robot_id: str
    command_id: Label
    engaged: StrictBool
    reason: Text | None = None
    timeout_s: Number
    actor: Actor
    plan: TargetPlan | None = None  # robot id -> commanding.Plan (gen 1: `send_stop`)


class CommandSentV1(Payload):
    """Ingest's deliverer handed a command to the MQTT broker (QoS 1). `resend`: the latched
    emergency stop sent again to a robot that came back without it."""

    robot_id: str
    command_id: Label
    topic: Text
    qos: int = 1
    resend: StrictBool = False
    to_robot: Label | None = None  # a resend of a fleet stop names the robot it went to


# --- the stream's clock and alarms (docs/alarms.md) --------------------------------------


class ClockTickV1(Payload):
    """The stream's time (`received_at` of the envelope: the start of a period bucket).
    `offline_after_s` is the inactivity timeout the emitter was configured with: carried in
    the event, so a replay rebuilds the same online history whatever the projector's setting."""

    period_s: int = Field(ge=1)
    offline_after_s: Number = Field(gt=0)


class AlarmAcknowledgedV1(Payload):
    """An operator acknowledged alarm `alarm_id` of robot `robot_id`."""

    robot_id: str
    alarm_id: int
    actor: Actor


# --- scheduled job dispatches (docs/schedules.md) ----------------------------------------


class JobScheduledV1(Payload):
    """An operator scheduled a job dispatch (`start_job` with `task_name`, `items_total`) for
    `robot_ids`, once `at` a time or on the 5-field `cron` recurrence (UTC): exactly one of the
    two. The API validates both; the projector computes the firings."""

    schedule_id: Label
    robot_ids: list[Label] = Field(min_length=1, max_length=100)
    task_name: Label
    items_total: Int32 = Field(ge=1)
    at: datetime | None = None
    cron: Label | None = None
    timeout_s: Number = Field(gt=0)
    actor: Actor

    @model_validator(mode="after")
    def _one_aware_when(self) -> JobScheduledV1:
        """What the folds compare with the stream's (UTC) time: one of the two, `at` with an
        offset. An event without (not one the API writes) is dead-lettered, never folded."""
        if (self.at is None) == (self.cron is None):
            raise ValueError("exactly one of at and cron")
        if self.at is not None and self.at.utcoffset() is None:
            raise ValueError("at needs a UTC offset")
        return self


class ScheduleChangedV1(Payload):
    """An operator paused, resumed or cancelled schedule `schedule_id` (the event type says which)."""

    schedule_id: Label
    actor: Actor
