"""The envelope every event travels in, whatever its kind or origin."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class EventType(StrEnum):
    # Robot -> server, one per MQTT message kind.
    STATUS = "status"
    SENSOR = "sensor"
    BATTERY = "battery"
    LOCATION = "location"
    SCAN = "scan"
    JOB = "job"
    COMMAND_RESPONSE = "command_response"
    SERVOS = "servos"
    VISION = "vision"
    LOG = "log"
    EMERGENCY_STOP_RESPONSE = "emergency_stop_response"
    # Operator writes through the REST API.
    ROBOT_REGISTERED = "robot_registered"
    ROBOT_UPDATED = "robot_updated"
    ROBOT_DEACTIVATED = "robot_deactivated"
    # A robot message ingest refused; the raw bytes live in the dead-letter stream.
    INGEST_REJECTED = "ingest_rejected"
    # API tokens made and revoked with `tonypi token` (only the token's SHA-256 travels).
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    # The stream's clock (robot id `_clock`): what "now" is for folds (offline, timeouts).
    CLOCK_TICK = "clock_tick"
    # An operator acknowledged an alarm (robot id: the alarm's robot).
    ALARM_ACKNOWLEDGED = "alarm_acknowledged"
    # Operator commands (docs/commands.md): asked for through the API, handed to the robot
    # by ingest's deliverer. Robot id `_fleet` (FLEET) for a broadcast.
    COMMAND_REQUESTED = "command_requested"
    EMERGENCY_STOP = "emergency_stop"  # pressed (engaged) or released (resume): the latch
    COMMAND_SENT = "command_sent"
    # Scheduled job dispatches (docs/schedules.md): written through the API, robot id
    # `_schedules` (SCHEDULES); the projector folds them and the clock fires them.
    JOB_SCHEDULED = "job_scheduled"
    SCHEDULE_PAUSED = "schedule_paused"
    SCHEDULE_RESUMED = "schedule_resumed"
    SCHEDULE_CANCELLED = "schedule_cancelled"


API_SOURCE = "api"
CLI_SOURCE = "cli"
# Token events are about no robot: they go under this pseudo id. No robot may call itself
# this (tonypi_events.reserved); only token_* events (which only `tonypi token` publishes,
# and NATS permissions keep ingest from publishing) touch api_tokens.
TOKENS_STREAM_ID = "_tokens"
# The robot id of a command or emergency stop for the whole fleet (the MQTT `broadcast` topic).
FLEET = "_fleet"
# Schedule events are about no one robot: they go under this pseudo id (one subject per kind).
SCHEDULES = "_schedules"


class EventEnvelope(BaseModel):
    """An immutable fact. `payload` is kept exactly as its schema version defines it
    (unknown fields included); readers upcast it with `tonypi_events.decode_payload`."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: EventType
    schema_version: int
    robot_id: str
    # The robot's own clock (may drift), always UTC: a time sent without an offset is read
    # as UTC, one with an offset converted (docs/architecture.md, "Robot times"); events
    # stored before this rule with a naive time read the same way.
    occurred_at: datetime | None = None
    received_at: datetime  # server clock, UTC: what ordering and last_seen use
    source: str  # the MQTT topic, or "api"
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _occurred_at_is_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:  # beyond year 9999 in UTC: as unknown as an unparseable time
            return None

    @field_validator("received_at")
    @classmethod
    def _received_at_is_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("received_at must carry a time zone")
        return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
