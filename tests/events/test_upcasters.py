"""Gen 1 and gen 2 payloads of one kind read as the same current schema."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from tonypi_events import EventEnvelope, EventType, UnknownSchemaVersion, decode, decode_payload, encode
from tonypi_events.kinds import JobV2, ScanV2
from tonypi_events.topics import job_version, scan_version

pytestmark = pytest.mark.unit  # the fast tier: no broker (make unit)


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
