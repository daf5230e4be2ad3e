"""Gen 1 and gen 2 payloads of one kind read as the same current schema."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from tonypi_events import (
    CURRENT_VERSION,
    SCHEMAS,
    EventEnvelope,
    EventType,
    UnknownSchemaVersion,
    decode,
    decode_payload,
    encode,
)
from tonypi_events.actors import V2_OF, TokenCreatedV2
from tonypi_events.kinds import JobV2, ScanV2
from tonypi_events.topics import job_version, scan_version


def envelope(event_type: EventType, version: int, payload: dict) -> EventEnvelope:
    return EventEnvelope(
        event_id="e1",
        event_type=event_type,
        schema_version=version,
        robot_id="r1",
        received_at=datetime.now(UTC),
        source="test",
        payload=payload,
    )


def test_gen1_scan_reads_as_gen2_and_keeps_unknown_fields():
    payload = {"robot_id": "r1", "qr": "QR12345", "timestamp": "2026-11-26T10:15:02.123456", "extra": 7}
    assert scan_version(payload) == 1
    scan = decode_payload(envelope(EventType.SCAN, 1, payload))
    assert isinstance(scan, ScanV2)
    assert scan.qr_data == "QR12345"
    assert scan.action == "scanned"
    assert scan.model_extra == {"extra": 7}


def test_gen2_scan_is_read_unchanged():
    payload = {"qr_data": "QR1", "station_name": "A", "action": "scanned"}
    assert scan_version(payload) == 2
    assert decode_payload(envelope(EventType.SCAN, 2, payload)).station_name == "A"


@pytest.mark.parametrize("status, expected", [("working", "in_progress"), ("completed", "completed")])
def test_gen1_job_percent_and_status_upcast(status, expected):
    payload = {"percent": 40.0, "status": status, "items_done": 4, "items_total": 10}
    assert job_version(payload) == 1
    job = decode_payload(envelope(EventType.JOB, 1, payload))
    assert isinstance(job, JobV2)
    assert (job.progress_percent, job.status, job.items_done, job.items_total) == (40.0, expected, 4, 10)


def test_gen2_job_detected_by_its_own_fields():
    assert job_version({"task_name": "Transport", "status": "started"}) == 2
    assert job_version({"status": "cancelled"}) == 2


def test_unknown_version_is_refused():
    with pytest.raises(UnknownSchemaVersion):
        decode_payload(envelope(EventType.SCAN, 9, {"qr_data": "x"}))


def test_wrong_type_for_known_field_is_refused():
    with pytest.raises(ValidationError):
        decode_payload(envelope(EventType.BATTERY, 1, {"percentage": "lots"}))


def test_envelope_round_trips_through_bytes():
    event = envelope(EventType.JOB, 1, {"percent": 1})
    assert decode(encode(event)) == event


# --- the actor says how (issue 16, row 8) ---------------------------------------------------

V1_ACTOR = {"name": "alice", "role": "admin"}


def test_a_v1_token_event_was_made_by_the_cli():
    payload = {
        "name": "t",
        "role": "viewer",
        "token_sha256": "0" * 64,
        "actor": {"name": "cli:root", "role": "admin"},
    }
    created = decode_payload(envelope(EventType.TOKEN_CREATED, 1, payload))
    assert isinstance(created, TokenCreatedV2)
    assert created.actor.model_dump() == {"name": "cli:root", "role": "admin", "via": "cli"}


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        (EventType.ROBOT_REGISTERED, {"robot_id": "r1"}),
        (EventType.ROBOT_UPDATED, {"robot_id": "r1", "changes": {}}),
        (EventType.ROBOT_DEACTIVATED, {"robot_id": "r1"}),
        (EventType.COMMAND_REQUESTED, {"robot_id": "r1", "command_id": "c", "type": "stop", "timeout_s": 5}),
        (EventType.EMERGENCY_STOP, {"robot_id": "r1", "command_id": "c", "engaged": True, "timeout_s": 5}),
        (EventType.ALARM_ACKNOWLEDGED, {"robot_id": "r1", "alarm_id": 3}),
    ],
)
def test_a_v1_api_write_reads_as_v2_with_how_unknown(event_type, payload):
    """v1 did not record whether a token or an OIDC subject wrote it: `unknown`, not a guess."""
    current = decode_payload(envelope(event_type, 1, {**payload, "actor": V1_ACTOR}))
    assert type(current) is V2_OF[event_type]
    assert current.actor.model_dump() == {**V1_ACTOR, "via": "unknown"}
    v2 = {**payload, "actor": {**V1_ACTOR, "via": "oidc"}}
    assert decode_payload(envelope(event_type, 2, v2)).actor.via == "oidc"
    with pytest.raises(ValidationError):  # a v2 event must say how
        decode_payload(envelope(event_type, 2, {**payload, "actor": V1_ACTOR}))


def test_a_v1_write_without_an_actor_stays_without_one():
    assert decode_payload(envelope(EventType.ROBOT_REGISTERED, 1, {"robot_id": "r1"})).actor is None


def test_every_kind_with_an_actor_is_at_v2():
    assert {
        t for t, versions in SCHEMAS.items() if 2 in versions and t not in (EventType.SCAN, EventType.JOB)
    } == set(V2_OF)
    assert all(CURRENT_VERSION[t] == 2 for t in V2_OF)
