"""Unit tests of the pure admission rules: what a message becomes, or why it is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from tonypi_events import EventEnvelope, EventType, decode_payload, encode, mqtt_event_id
from tonypi_events.rejections import MAX_PAYLOAD_BYTES, RejectReason
from tonypi_ingest.admission import Accepted, Rejected, admit, rejection_event

from .samples import SAMPLES, TS

NOW = datetime(2026, 11, 26, 10, 15, 3, tzinfo=UTC)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_every_topic_of_both_generations_becomes_its_event(sample):
    raw = json.dumps(sample.payload).encode()
    verdict = admit("p/" + sample.topic, raw, NOW, "p/")
    assert isinstance(verdict, Accepted), verdict
    event = verdict.event
    assert (event.event_type, event.schema_version, event.robot_id) == (
        sample.event_type,
        sample.version,
        sample.robot_id,
    )
    assert event.payload == sample.payload
    assert event.event_id == mqtt_event_id("p/" + sample.topic, raw)
    assert event.source == "p/" + sample.topic
    assert event.occurred_at == datetime.fromisoformat(TS).replace(tzinfo=UTC)  # no offset: UTC
    assert event.received_at == NOW
    decode_payload(event)  # readable as the current schema


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
@pytest.mark.parametrize(
    "received_at",
    [NOW, datetime(2026, 11, 26, 12, 15, 3, tzinfo=timezone(timedelta(hours=2)))],
    ids=["utc", "offset"],
)
def test_the_event_is_the_one_the_envelope_validates_to(sample, received_at):
    # admit builds the envelope without validating it again: it must be what validation makes.
    raw = json.dumps({**sample.payload, "timestamp": "2026-11-26T10:15:02+01:00"}).encode()
    event = admit(sample.topic, raw, received_at).event
    validated = EventEnvelope.model_validate(event.model_dump())
    assert event == validated
    assert encode(event) == encode(validated)
    assert event.received_at.tzinfo is UTC and event.occurred_at.tzinfo is UTC


def test_a_receive_time_without_a_zone_is_refused_as_the_envelope_refuses_it():
    with pytest.raises(ValueError, match="time zone"):
        admit(SAMPLES[0].topic, json.dumps(SAMPLES[0].payload).encode(), NOW.replace(tzinfo=None))


def test_unknown_fields_are_kept():
    raw = json.dumps({"status": "online", "firmware_build": "2.3.1", "system_info": {"npu": 1}}).encode()
    event = admit("tonypi/status/r1", raw, NOW).event
    assert event.payload["firmware_build"] == "2.3.1"
    assert event.payload["system_info"] == {"npu": 1}


def test_payload_robot_id_wins_over_the_topic():
    event = admit("tonypi/sensors/from_topic", b'{"robot_id": "from_payload", "sensor_type": "x"}', NOW).event
    assert event.robot_id == "from_payload"


def test_topic_robot_id_is_used_when_the_payload_has_none():
    event = admit("tonypi/sensors/from_topic", b'{"sensor_type": "x", "value": 1}', NOW).event
    assert event.robot_id == "from_topic"
    assert event.occurred_at is None


def test_scan_carries_the_code_to_look_up_for_both_generations():
    assert admit("tonypi/scan/r1", b'{"qr": "QR1"}', NOW).scanned_qr == "QR1"
    assert admit("tonypi/scan/r1", b'{"qr_data": "QR2", "qr": "old"}', NOW).scanned_qr == "QR2"
    assert admit("tonypi/status/r1", b'{"status": "online", "qr": "x"}', NOW).scanned_qr is None


def test_unparseable_robot_timestamp_is_unknown_not_fatal():
    event = admit("tonypi/status/r1", b'{"status": "online", "timestamp": "yesterday"}', NOW).event
    assert event.occurred_at is None


@pytest.mark.parametrize(
    "topic, raw, reason",
    [
        ("tonypi/status/r1", b"\xff\xfe not utf-8", RejectReason.NOT_JSON),
        ("tonypi/status/r1", b"{status: online}", RejectReason.NOT_JSON),
        ("tonypi/status/r1", b"", RejectReason.NOT_JSON),
        ("tonypi/status/r1", b'["status", "online"]', RejectReason.NOT_OBJECT),
        ("tonypi/status/r1", b'"online"', RejectReason.NOT_OBJECT),
        ("tonypi/battery", b'{"percentage": 50}', RejectReason.NO_ROBOT_ID),
        ("tonypi/location", b'{"robot_id": "", "x": 1}', RejectReason.NO_ROBOT_ID),
        ("tonypi/commands/response", b'{"success": true}', RejectReason.NO_ROBOT_ID),
        ("tonypi/emergency_stop/response", b'{"success": true}', RejectReason.NO_ROBOT_ID),
        ("tonypi/status/", b'{"status": "online"}', RejectReason.NO_ROBOT_ID),
        ("tonypi/battery", b'{"robot_id": "r1", "percentage": "full"}', RejectReason.INVALID_FIELDS),
        ("tonypi/battery", b'{"robot_id": "r1", "charging": "yes"}', RejectReason.INVALID_FIELDS),
        ("tonypi/status/r1", b'{"system_info": {}}', RejectReason.INVALID_FIELDS),  # status is required
        ("tonypi/sensors/r1", b'{"robot_id": 7, "sensor_type": "x"}', RejectReason.INVALID_FIELDS),
        ("tonypi/job/r1", b'{"task_name": "T", "items_done": "four"}', RejectReason.INVALID_FIELDS),
        ("tonypi/unknown/r1", b"{}", RejectReason.UNKNOWN_TOPIC),
    ],
)
def test_bad_input_is_rejected_with_its_reason(topic, raw, reason):
    verdict = admit(topic, raw, NOW)
    assert isinstance(verdict, Rejected)
    assert verdict.reason is reason, verdict.detail
    assert verdict.detail


def test_payload_over_64_kib_is_rejected_before_parsing():
    raw = json.dumps({"status": "online", "pad": "x" * MAX_PAYLOAD_BYTES}).encode()
    verdict = admit("tonypi/status/r1", raw, NOW)
    assert verdict.reason is RejectReason.TOO_LARGE
    just_fits = json.dumps({"status": "online", "pad": "x" * (MAX_PAYLOAD_BYTES - 40)}).encode()
    assert len(just_fits) <= MAX_PAYLOAD_BYTES
    assert isinstance(admit("tonypi/status/r1", just_fits, NOW), Accepted)


def test_invalid_fields_detail_names_the_field_and_keeps_the_robot():
    verdict = admit("tonypi/battery", b'{"robot_id": "r9", "voltage": [1]}', NOW)
    assert "voltage" in verdict.detail
    assert verdict.robot_id == "r9"
    event = rejection_event(verdict, "tonypi/battery", b"raw", NOW, "x.deadletter.invalid_fields")
    assert event.robot_id == "r9"
    assert event.event_type is EventType.INGEST_REJECTED


def test_rejection_without_robot_is_filed_as_unattributed():
    verdict = admit("tonypi/battery", b"[]", NOW)
    event = rejection_event(verdict, "tonypi/battery", b"[]", NOW, "x.deadletter.not_object")
    assert event.robot_id == "_unattributed"
    assert decode_payload(event).reason == "not_object"
    assert event.payload["size"] == 2


def test_topic_outside_the_prefix_is_unknown():
    verdict = admit("other/tonypi/status/r1", b'{"status": "online"}', NOW, "mine/")
    assert verdict.reason is RejectReason.UNKNOWN_TOPIC


def test_unreadable_message_on_a_robot_topic_is_filed_under_that_robot():
    verdict = admit("tonypi/logs/r7", b"\x00garbage", NOW)
    assert (verdict.reason, verdict.robot_id) == (RejectReason.NOT_JSON, "r7")
    assert rejection_event(verdict, "tonypi/logs/r7", b"\x00garbage", NOW, "d").robot_id == "r7"


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("tonypi/status/response", {"status": "online"}),  # would shadow the shared answer topic
        ("tonypi/status/broadcast", {"status": "online"}),
        ("tonypi/status/_tokens", {"status": "online"}),
        ("tonypi/battery", {"robot_id": "_fleet", "percentage": 50.0}),
        ("tonypi/commands/response", {"robot_id": "_clock", "command_id": "c", "success": True}),
    ],
)
def test_a_reserved_robot_id_is_refused_with_the_reason(topic, payload):
    verdict = admit(topic, json.dumps(payload).encode(), NOW)
    assert isinstance(verdict, Rejected)
    assert verdict.reason is RejectReason.INVALID_ROBOT_ID
    assert "is reserved" in verdict.detail
    assert verdict.robot_id is None  # filed as unattributed, never under the reserved id
