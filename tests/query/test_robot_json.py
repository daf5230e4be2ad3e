"""The robot object's fast encoder writes, byte for byte, what `json_reply` writes through
`RobotOut` (the documented schema), for any row the read model can hold."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from tonypi_query.endpoints import json_reply_body
from tonypi_query.models import RobotOut
from tonypi_query.robot_json import encode_robot, encode_robots

# What PostgreSQL can hand over: text without NUL or surrogates, float8 (NaN and infinities
# included), timestamptz in micro-seconds, jsonb (numbers of any size).
text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
floats = st.floats(allow_nan=True, allow_infinity=True)
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def _sql_text(at: datetime) -> str:
    """raised_at as reads._ACTIVE_ALARMS writes it (to_char ... .US"+00:00")."""
    return f"{at.year:04d}-" + at.strftime("%m-%dT%H:%M:%S.%f") + "+00:00"


alarms = st.builds(
    lambda id_, kind, severity, message, at, ack: {
        "id": id_,
        "kind": kind,
        "severity": severity,
        "message": message,
        "raised_at": _sql_text(at),
        "acknowledged": ack,
    },
    st.integers(1, 2**63 - 1),
    text,
    text,
    text,
    times,
    st.booleans(),
)

rows = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**63 - 1),
        "robot_id": text,
        "name": st.none() | text,
        "description": st.none() | text,
        "location": st.none() | text,
        "status": st.none() | text,
        "battery_threshold_low": st.none() | floats,
        "battery_threshold_critical": st.none() | floats,
        "temp_threshold_warning": st.none() | floats,
        "temp_threshold_critical": st.none() | floats,
        "settings": json_values,
        "last_seen": st.none() | times,
        "created_at": st.none() | times,
        "updated_at": st.none() | times,
        "is_active": st.none() | st.booleans(),
        "online": st.booleans(),
        "firmware": st.sampled_from([None, "gen1", "gen2", "gen2_sim"]),
        "active_alarms": st.lists(alarms, max_size=3),
    }
)


def in_model_order(row: dict) -> dict:
    """As the read selects it (reads._ROBOT_SELECT): the encoder's path without lookups."""
    return {name: row[name] for name in RobotOut.model_fields if name in row}


@settings(max_examples=200)
@given(st.lists(rows, max_size=4))
def test_a_page_is_what_the_schema_writes(page):
    expected = json_reply_body(page, list[RobotOut])
    assert encode_robots([in_model_order(r) for r in page]) == expected
    assert encode_robots(page) == expected


@given(rows)
def test_one_robot_is_what_the_schema_writes(row):
    assert encode_robot(row) == json_reply_body(row, RobotOut)


def test_a_whole_second_keeps_no_fraction_and_a_huge_setting_falls_back():
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    row = {
        "id": 1,
        "robot_id": "r1",
        "name": None,
        "description": None,
        "location": None,
        "status": None,
        "battery_threshold_low": 20.0,
        "battery_threshold_critical": None,
        "temp_threshold_warning": None,
        "temp_threshold_critical": None,
        "settings": {"big": 2**80},
        "last_seen": at,
        "created_at": at,
        "updated_at": at,
        "is_active": True,
        "online": True,
        "firmware": "gen1",
        "active_alarms": [],
    }
    body = encode_robot(row)
    assert b'"last_seen":"2026-12-07T10:00:00+00:00"' in body
    assert b'"big":1208925819614629174706176' in body
    assert b'"battery_threshold_low":20.0' in body


@given(rows)
def test_a_row_in_any_column_order_is_written_alike(row):
    reordered = dict(reversed(row.items()))
    assert encode_robot(reordered) == encode_robot(in_model_order(row))


def test_the_read_selects_in_the_model_order_so_pages_take_the_fast_path():
    from tonypi_query import reads, robot_json

    selected = [c.strip() for c in reads.ROBOT_COLUMNS.split(",")] + ["active_alarms", "firmware"]
    assert tuple(selected) == robot_json._ORDER, "order reads._ROBOT_SELECT as RobotOut's fields"
