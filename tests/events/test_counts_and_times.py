"""Issue 18, rows 9 and 10: negative counts are refused with a reason (admission bounds), and
every robot-sent time follows one rule: no offset means UTC, an offset is converted to UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from tonypi_events import EventEnvelope, EventType, decode, encode
from tonypi_events.codec import parse_robot_timestamp
from tonypi_events.rejections import RejectReason
from tonypi_ingest.admission import Accepted, Rejected, admit

NOW = datetime(2026, 11, 26, 10, 15, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("topic", "payload", "field"),
    [
        (
            "tonypi/job/r1",
            {"percent": 10, "status": "working", "items_done": -5, "items_total": 10},
            "items_done",
        ),
        ("tonypi/job/r1", {"task_name": "T", "status": "in_progress", "items_total": -1}, "items_total"),
        ("tonypi/servos/r1", {"servo_count": -6, "servos": {}}, "servo_count"),
    ],
)
def test_a_negative_count_is_refused_with_the_field_named(topic, payload, field):
    verdict = admit(topic, json.dumps(payload).encode(), NOW)
    assert isinstance(verdict, Rejected)
    assert verdict.reason is RejectReason.INVALID_FIELDS
    assert field in verdict.detail and "greater than or equal to 0" in verdict.detail


def test_zero_counts_are_fine():
    raw = json.dumps({"percent": 0, "status": "working", "items_done": 0, "items_total": 0}).encode()
    assert isinstance(admit("tonypi/job/r1", raw, NOW), Accepted)


@pytest.mark.parametrize(
    ("sent", "utc"),
    [
        ("2026-11-26T10:15:02.123456", datetime(2026, 11, 26, 10, 15, 2, 123456, tzinfo=UTC)),
        ("2026-11-26T12:15:02+02:00", datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)),
        ("2026-11-26T10:15:02Z", datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)),
        ("2026-11-26T05:15:02-05:00", datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)),
    ],
)
def test_every_robot_time_becomes_utc(sent, utc):
    parsed = parse_robot_timestamp(sent)
    assert parsed == utc and parsed.tzinfo is UTC
    event = admit("tonypi/status/r1", json.dumps({"status": "online", "timestamp": sent}).encode(), NOW).event
    assert event.occurred_at == utc and event.occurred_at.utcoffset() == timedelta(0)


def test_beyond_the_range_in_utc_is_unknown():
    assert parse_robot_timestamp("9999-12-31T23:00:00-05:00") is None  # year 10000 in UTC


def test_events_stored_with_a_naive_time_read_as_utc():
    """Before the rule the stream held naive times; every reader now sees them in UTC."""
    stored = EventEnvelope(
        event_id="e1",
        event_type=EventType.STATUS,
        schema_version=1,
        robot_id="r1",
        received_at=NOW,
        source="tonypi/status/r1",
        payload={"status": "online"},
    ).model_dump(mode="json")
    stored["occurred_at"] = "2026-11-26T10:15:02"
    event = decode(json.dumps(stored).encode())
    assert event.occurred_at == datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)
    offset = event.model_copy(update={"occurred_at": None})
    aware = EventEnvelope.model_validate(
        {
            **offset.model_dump(),
            "occurred_at": datetime(2026, 11, 26, 11, 15, 2, tzinfo=timezone(timedelta(hours=1))),
        }
    )
    assert decode(encode(aware)).occurred_at == datetime(2026, 11, 26, 10, 15, 2, tzinfo=UTC)
