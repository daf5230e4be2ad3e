"""Which model describes each (event type, schema version), and reading any version
as the current one."""

from __future__ import annotations

from pydantic import BaseModel

from . import actors, kinds
from .envelope import EventEnvelope, EventType
from .upcasters import UPCASTERS

SCHEMAS: dict[EventType, dict[int, type[kinds.Payload]]] = {
    EventType.STATUS: {1: kinds.StatusV1},
    EventType.SENSOR: {1: kinds.SensorV1},
    EventType.BATTERY: {1: kinds.BatteryV1},
    EventType.LOCATION: {1: kinds.LocationV1},
    EventType.SCAN: {1: kinds.ScanV1, 2: kinds.ScanV2},
    EventType.JOB: {1: kinds.JobV1, 2: kinds.JobV2},
    EventType.COMMAND_RESPONSE: {1: kinds.CommandResponseV1},
    EventType.SERVOS: {1: kinds.ServosV1},
    EventType.VISION: {1: kinds.VisionV1},
    EventType.LOG: {1: kinds.LogV1},
    EventType.EMERGENCY_STOP_RESPONSE: {1: kinds.CommandResponseV1},
    EventType.ROBOT_REGISTERED: {1: kinds.RobotRegisteredV1, 2: actors.RobotRegisteredV2},
    EventType.ROBOT_UPDATED: {1: kinds.RobotUpdatedV1, 2: actors.RobotUpdatedV2},
    EventType.ROBOT_DEACTIVATED: {1: kinds.RobotDeactivatedV1, 2: actors.RobotDeactivatedV2},
    EventType.INGEST_REJECTED: {1: kinds.IngestRejectedV1},
    EventType.TOKEN_CREATED: {1: kinds.TokenCreatedV1, 2: actors.TokenCreatedV2},
    EventType.TOKEN_REVOKED: {1: kinds.TokenRevokedV1, 2: actors.TokenRevokedV2},
    EventType.CLOCK_TICK: {1: kinds.ClockTickV1},
    EventType.ALARM_ACKNOWLEDGED: {1: kinds.AlarmAcknowledgedV1, 2: actors.AlarmAcknowledgedV2},
    EventType.COMMAND_REQUESTED: {1: kinds.CommandRequestedV1, 2: actors.CommandRequestedV2},
    EventType.EMERGENCY_STOP: {1: kinds.EmergencyStopV1, 2: actors.EmergencyStopV2},
    EventType.COMMAND_SENT: {1: kinds.CommandSentV1},
    EventType.JOB_SCHEDULED: {1: kinds.JobScheduledV1},
    EventType.SCHEDULE_PAUSED: {1: kinds.ScheduleChangedV1},
    EventType.SCHEDULE_RESUMED: {1: kinds.ScheduleChangedV1},
    EventType.SCHEDULE_CANCELLED: {1: kinds.ScheduleChangedV1},
}

CURRENT_VERSION: dict[EventType, int] = {t: max(v) for t, v in SCHEMAS.items()}


class UnknownSchemaVersion(ValueError):
    """The event is newer than this code, or of a version no longer readable."""


def model_for(event_type: EventType, version: int) -> type[kinds.Payload]:
    try:
        return SCHEMAS[event_type][version]
    except KeyError:
        raise UnknownSchemaVersion(
            f"no schema for {event_type.value} v{version}; this code reads "
            f"v1..v{CURRENT_VERSION.get(event_type, 0)}"
        ) from None


def decode_payload(event: EventEnvelope) -> BaseModel:
    """The event's payload as the current schema of its type, upcast as needed.

    Raises UnknownSchemaVersion or pydantic.ValidationError for an event that
    cannot be read: the projector dead-letters those.
    """
    version = event.schema_version
    model_for(event.event_type, version)  # reject versions we never knew
    payload = dict(event.payload)
    current = CURRENT_VERSION[event.event_type]
    while version < current:
        payload = UPCASTERS[(event.event_type, version)](payload)
        version += 1
    return SCHEMAS[event.event_type][current].model_validate(payload)
