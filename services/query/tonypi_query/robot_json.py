"""The robot object's JSON, encoded straight from its database row.

`GET /robots` is the API's hottest list (a page of up to 1,000 robots, polled by every
console). Validating each row into `RobotOut` and dumping it costs about 7 ms per page of
100 robots in Python callbacks (a time serialiser per field, a validator per row); orjson
writes the same bytes from the row in about a seventh of that. The rows come from our own
read model, so there is nothing to validate, only to shape:

- keys in `RobotOut`'s field order, read from the model (one home for the shape);
- times as `datetime.isoformat()` in UTC ("+00:00", micro-seconds only when non-zero),
  which is what orjson writes and what `fields.UtcDateTime` promises;
- `command_types` from the robot's firmware, computed once per firmware.

A value orjson cannot write (an integer past 64 bits in `settings`) falls back to the
model's own serialiser, so every body is still what the schema says. A property test
(tests/query/test_robot_json.py) holds this encoder byte for byte to `json_reply` with
`RobotOut`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from tonypi_events import commanding

from .endpoints import json_reply_body
from .models import RobotOut

# (field, default when the row lacks it: the model's own default, None for a required one)
_FIELDS = tuple(
    (name, None if field.is_required() else field.get_default(call_default_factory=True))
    for name, field in RobotOut.model_fields.items()
    if name != "command_types"
)
_ORDER = tuple(name for name, _ in _FIELDS)


@cache
def _command_types(firmware: str | None) -> tuple[str, ...]:
    return tuple(t for t in commanding.COMMAND_TYPES if commanding.takes(firmware, t))


def _alarm(alarm: Mapping[str, Any]) -> dict[str, Any]:
    raised_at = alarm["raised_at"]
    if isinstance(raised_at, str):  # the read's exact text form (reads._ACTIVE_ALARMS)
        raised_at = datetime.fromisoformat(raised_at)
    return {
        "id": alarm["id"],
        "kind": alarm["kind"],
        "severity": alarm["severity"],
        "message": alarm["message"],
        "raised_at": raised_at.astimezone(UTC),
        "acknowledged": alarm["acknowledged"],
    }


def _shape(rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    keys = tuple(rows[0].keys())
    if keys == _ORDER:  # the read selects in the model's order: no per-field lookups
        robots = [dict(zip(keys, row.values(), strict=True)) for row in rows]
    else:
        robots = [{name: row.get(name, default) for name, default in _FIELDS} for row in rows]
    for robot in robots:
        robot["active_alarms"] = [_alarm(a) for a in robot["active_alarms"] or ()]
        robot["command_types"] = _command_types(robot["firmware"])
    return robots


def encode_robots(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """A JSON array of robot objects, as `list[RobotOut]` documents it."""
    rows = list(rows)
    try:
        return orjson.dumps(_shape(rows))
    except orjson.JSONEncodeError:
        return json_reply_body([dict(row) for row in rows], list[RobotOut])


def encode_robot(row: Mapping[str, Any]) -> bytes:
    """One robot object, as `RobotOut` documents it."""
    try:
        return orjson.dumps(_shape([row])[0])
    except orjson.JSONEncodeError:
        return json_reply_body(dict(row), RobotOut)
