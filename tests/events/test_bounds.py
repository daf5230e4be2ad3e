"""The payload bounds (tonypi_events.bounds): pure, so tested without brokers."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from tonypi_events import EventEnvelope, EventType, decode, encode, utc_now
from tonypi_events.bounds import (
    LABEL_MAX_CHARS,
    MAX_JSON_DEPTH,
    TEXT_MAX_CHARS,
    PayloadProblem,
    parse_payload,
    safe_text,
)
from tonypi_events.kinds import JobV2, LogV1, SensorV1, StatusV1


def nested(depth: int) -> bytes:
    """An object nested `depth` levels deep (the outer object is level 1)."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def problem(raw: bytes) -> PayloadProblem:
    with pytest.raises(PayloadProblem) as caught:
        parse_payload(raw)
    return caught.value


def test_plain_json_parses_to_the_value_sent():
    assert parse_payload(b'{"a": [1, 2.5, "x", null, true], "b": {"c": "\\u00e9"}}') == {
        "a": [1, 2.5, "x", None, True],
        "b": {"c": "é"},
    }


def test_nesting_up_to_the_limit_is_kept_and_decodable_by_every_reader():
    payload = parse_payload(nested(MAX_JSON_DEPTH))
    event = EventEnvelope(
        event_id="e",
        event_type=EventType.LOG,
        schema_version=1,
        robot_id="r",
        received_at=utc_now(),
        source="t",
        payload=payload,
    )
    assert decode(encode(event)).payload == payload


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 196, 254, 255, 5000, 100_000])
def test_deeper_nesting_is_refused_without_recursing(depth):
    found = problem(nested(depth))
    assert found.code == "too_deep"
    assert str(MAX_JSON_DEPTH) in found.detail


def test_deep_lists_are_refused_too():
    assert problem(b'{"a":' + b"[" * 40 + b"]" * 40 + b"}").code == "too_deep"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"v": NaN}', "NaN"),
        (b'{"v": Infinity}', "Infinity"),
        (b'{"v": -Infinity}', "-Infinity"),
        (b'{"v": 1e400}', "beyond a double"),
        (b'{"v": -1e400}', "beyond a double"),
        (b'{"v": ' + b"9" * 400 + b".0}", "beyond a double"),
        (b'{"v": ' + b"9" * 30 + b"}", "digits"),
    ],
)
def test_numbers_a_double_cannot_hold_are_refused(raw, words):
    found = problem(raw)
    assert found.code == "invalid_number"
    assert words in str(found)


def test_large_but_finite_numbers_are_kept_exactly():
    assert parse_payload(b'{"v": 1e308, "i": -12345678901234567890}') == {
        "v": 1e308,
        "i": -12345678901234567890,
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"robot_id": "c36\\u0000x"}', "payload.robot_id"),
        (b'{"message": "a\\u0000"}', "payload.message"),
        (b'{"k\\u0000": 1}', "payload.k\x00"),
        (b'{"a": [1, {"b": "\\ud800"}]}', "payload.a[1].b"),
        (b'{"a": "\\udfff"}', "payload.a"),
    ],
)
def test_nul_and_lone_surrogates_are_refused_with_the_field_named(raw, field):
    found = problem(raw)
    assert found.code == "invalid_text"
    assert found.field == field


def test_escaped_backslash_u_is_not_mistaken_for_nul_and_pairs_are_fine():
    assert parse_payload(b'{"m": "\\\\u0000", "e": "\\ud83e\\udd16"}') == {"m": "\\u0000", "e": "🤖"}


@pytest.mark.parametrize(("raw", "code"), [(b"\xff", "not_json"), (b"{", "not_json"), (b"", "not_json")])
def test_not_json(raw, code):
    assert problem(raw).code == code


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (StatusV1, {"status": "s" * (LABEL_MAX_CHARS + 1)}, "status"),
        (LogV1, {"message": "m", "level": "L" * 10_000}, "level"),
        (LogV1, {"message": "m", "source": "s" * 200}, "source"),
        (LogV1, {"message": "m" * (TEXT_MAX_CHARS + 1)}, "message"),
        (SensorV1, {"sensor_type": "t" * 200}, "sensor_type"),
        (SensorV1, {"sensor_type": "t", "unit": "u" * 200}, "unit"),
        (JobV2, {"task_name": "t" * 200}, "task_name"),
        (JobV2, {"items_done": 2**31}, "items_done"),
        (SensorV1, {"sensor_type": "t", "value": "inf"}, "value"),
    ],
)
def test_every_stored_field_is_bounded(model, payload, field):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(payload)
    assert [e["loc"] for e in caught.value.errors()] == [(field,)]


def test_labels_fit_a_btree_key():
    assert LABEL_MAX_CHARS * 4 < 2704  # PostgreSQL's btree limit, in bytes (4 per character at most)


def test_safe_text_escapes_what_postgres_and_log_lines_refuse():
    assert safe_text("a\x00b\ud800c\r\n\u2028") == "a\\x00b\\ud800c\\r\\n\\u2028"
    assert safe_text("x" * 20, 10) == "x" * 9 + "…"
    assert safe_text("plain é") == "plain é"
    json.dumps(safe_text("\ud800")).encode()
