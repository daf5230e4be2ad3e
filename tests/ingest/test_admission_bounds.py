"""Admission of hostile input (issue 8, rows 1, 2, 4, 8, 9, 10): the robot-id rule and the
payload bounds refuse at the door, with a reason naming the field, and a refusal is never
filed under an id that breaks the rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tonypi_events import decode, encode
from tonypi_events.bounds import LABEL_MAX_CHARS, MAX_JSON_DEPTH
from tonypi_events.rejections import RejectReason
from tonypi_ingest.admission import Accepted, Rejected, admit, rejection_event

NOW = datetime(2026, 11, 26, 10, 15, 3, tzinfo=UTC)


def rejected(topic: str, raw: bytes) -> Rejected:
    verdict = admit(topic, raw, NOW)
    assert isinstance(verdict, Rejected), verdict
    # Whatever came in, the rejection notice encodes, decodes and names a valid robot.
    notice = rejection_event(verdict, topic, raw, NOW, "x.deadletter." + verdict.reason.value)
    assert decode(encode(notice)) == notice
    assert "\x00" not in notice.payload["topic"] + notice.payload["detail"]
    return verdict


@pytest.mark.parametrize(
    ("topic", "raw", "words"),
    [
        # row 1: a NUL in the robot id
        ("tonypi/battery", b'{"robot_id":"c36\\u0000x","percentage":1}', "control character"),
        # row 2 and 8: over 128 characters, control characters, '/'
        ("tonypi/battery", json.dumps({"robot_id": "r" * 3000}).encode(), "3000 characters"),
        ("tonypi/battery", json.dumps({"robot_id": "a/b"}).encode(), "'/'"),
        ("tonypi/battery", json.dumps({"robot_id": "a\tb"}).encode(), "control character"),
        # row 4: '+' in a scan's robot id (the reply topic would be a wildcard)
        ("tonypi/scan/r1", json.dumps({"robot_id": "a+b", "qr": "Q"}).encode(), "'+'"),
        # the topic's own id counts too, even when the payload names a good one
        (
            "tonypi/status/" + "r" * 10_240,
            json.dumps({"robot_id": "ok", "status": "online"}).encode(),
            "topic",
        ),
        ("tonypi/status/a#b", b'{"status": "online"}', "'#'"),
    ],
)
def test_robot_ids_breaking_the_rule_are_invalid_robot_id(topic, raw, words):
    verdict = rejected(topic, raw)
    assert verdict.reason is RejectReason.INVALID_ROBOT_ID
    assert words in verdict.detail
    assert rejection_event(verdict, topic, raw, NOW, "d").robot_id == "_unattributed"


def test_a_lone_surrogate_in_the_robot_id_is_an_invalid_robot_id():  # row 4
    verdict = rejected("tonypi/battery", b'{"robot_id": "r\\ud800", "percentage": 1}')
    assert verdict.reason is RejectReason.INVALID_ROBOT_ID
    assert (
        verdict.detail
        == "payload.robot_id: robot id may not contain a lone surrogate (U+D800 at character 2)"
    )


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 196, 254, 255, 30_000])  # rows 4 and 9
def test_deep_nesting_is_refused(depth):
    raw = b'{"robot_id": "r1", "status": "online", "x": ' + b"[" * depth + b"]" * depth + b"}"
    assert rejected("tonypi/status/r1", raw).reason is RejectReason.TOO_DEEP


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])  # row 10
def test_numbers_that_would_not_be_stored_as_received_are_refused(number):
    verdict = rejected("tonypi/battery", b'{"robot_id": "r1", "percentage": ' + number + b"}")
    assert verdict.reason is RejectReason.INVALID_NUMBER
    assert verdict.robot_id is None or verdict.robot_id == "r1"


@pytest.mark.parametrize(
    ("topic", "payload", "field"),
    [  # row 2: every string the projector stores or indexes
        ("tonypi/status/r1", {"status": "s" * 10_240}, "status"),
        ("tonypi/logs/r1", {"level": "L" * 10_240, "message": "m"}, "level"),
        ("tonypi/logs/r1", {"source": "s" * 200, "message": "m"}, "source"),
        ("tonypi/sensors/r1", {"sensor_type": "t" * 200}, "sensor_type"),
        ("tonypi/job/r1", {"task_name": "t" * 200, "status": "started"}, "task_name"),
        ("tonypi/job/r1", {"items_total": 2**40, "status": "started"}, "items_total"),
    ],
)
def test_over_long_fields_are_invalid_fields_naming_the_field(topic, payload, field):
    verdict = rejected(topic, json.dumps(payload).encode())
    assert verdict.reason is RejectReason.INVALID_FIELDS
    assert verdict.detail.startswith(f"{field}: ")
    assert verdict.robot_id == "r1"


@pytest.mark.parametrize(
    "raw",
    [b'{"status": "online", "note": "a\\u0000b"}', b'{"status": "online", "k\\u0000": 1}'],
)
def test_nul_anywhere_in_free_text_is_refused_not_escaped(raw):
    verdict = rejected("tonypi/status/r1", raw)
    assert verdict.reason is RejectReason.INVALID_TEXT
    assert verdict.robot_id == "r1"  # the topic's id keeps the rule: filed under it


def test_limits_themselves_are_admitted():
    raw = json.dumps({"status": "s" * LABEL_MAX_CHARS, "robot_id": "r" * 128}).encode()
    assert isinstance(admit("tonypi/status/" + "r" * 128, raw, NOW), Accepted)


def test_a_huge_unknown_topic_is_quoted_briefly():
    topic = "tonypi/" + "x" * 60_000
    verdict = rejected(topic, b"{}")
    notice = rejection_event(verdict, topic, b"{}", NOW, "d")
    assert len(notice.payload["topic"]) <= 1024 and len(notice.source) <= 1024
    assert len(notice.payload["detail"]) <= 1000
