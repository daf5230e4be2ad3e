"""The live feed: one compact change record per applied event, written in the batch's
transaction and tailed by the query service for Server-Sent Events (docs/live.md).

Generic over tables: a record lists the rows the event wrote under each table's name (any
tuple of row dataclasses a fold hands back, so a table a later fold adds flows in with no
glue here), the event's own payload, and a short summary of the robot row when it changed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tonypi_events import EventEnvelope

from .rows import JsonObject, Robot

# Table name -> the kind a client filters by (?kind=job). Unlisted tables: the name itself.
KIND_OF_TABLE = {
    "jobs": "job",
    "logs": "log",
    "commands": "command",
    "latches": "emergency_stop",
    "alarms": "alarm",
    "transitions": "alarm",  # an alarm's history rows (docs/alarms.md)
}
ROBOT_SUMMARY = ("robot_id", "name", "status", "last_seen", "is_active")
MAX_PAYLOAD_CHARS = 16_384  # a bigger payload (as JSON) is left out of the record (it is in the stream)


@dataclasses.dataclass(frozen=True)
class FeedEntry:
    seq: int
    robot_id: str
    event_type: str
    kinds: tuple[str, ...]
    at: datetime
    data: JsonObject

    def data_json(self) -> str:
        """The record's `data` as the JSON the live_feed table stores (times in ISO 8601)."""
        return json.dumps(self.data, default=_json_default)


def _json_default(value: Any) -> Any:
    # Called by the C encoder for what JSON has no type for: only times occur in rows. (A
    # walk converting every value first cost the projector a tenth of its catch-up time.)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):  # a read-only view of a JSON object
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@functools.cache
def _field_names(row_type: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(row_type))


def row_json(row: Any) -> JsonObject:
    return {name: getattr(row, name) for name in _field_names(type(row))}


def entry(
    seq: int,
    event: EventEnvelope,
    robot: Robot | None,
    rows: Mapping[str, Sequence[Any]],
    message_bytes: int,
) -> FeedEntry | None:
    """`robot`: the robot row if this event changed it; `rows`: table name -> rows written;
    `message_bytes`: the size of the stream message (a payload no bigger needs no measuring).
    None for an event that changed nothing (a clock tick that timed nothing out): no record."""
    if robot is None and not any(rows.values()):
        return None
    kinds: list[str] = [event.event_type.value]
    data: JsonObject = {
        "event_type": event.event_type.value,
        "robot_id": event.robot_id,
        "source": event.source,
    }
    if message_bytes <= MAX_PAYLOAD_CHARS or len(json.dumps(event.payload)) <= MAX_PAYLOAD_CHARS:
        data["payload"] = event.payload
    if robot is not None:
        kinds.append("robot")
        data["robot"] = {k: getattr(robot, k) for k in ROBOT_SUMMARY}
    written = {}
    for table, table_rows in rows.items():
        if table_rows:
            kinds.append(KIND_OF_TABLE.get(table, table))
            written[table] = [row_json(r) for r in table_rows]
    if written:
        data["rows"] = written
    return FeedEntry(
        seq, event.robot_id, event.event_type.value, tuple(dict.fromkeys(kinds)), event.received_at, data
    )


# Rows never shown to live viewers: api_tokens (credentials, even as hashes, and who holds
# them are for `tonypi token list`, not for every dashboard).
NOT_FED = frozenset({"tokens"})


def outcome_rows(outcome: Any) -> dict[str, Sequence[Any]]:
    """Every field of a fold's Outcome that is a tuple of rows (dataclasses): jobs, logs, and
    whatever a later fold adds. Other fields (the state, notes) are not rows."""
    rows = {}
    for name in _field_names(type(outcome)):
        value = getattr(outcome, name)
        # A field's tuple holds one kind of thing: its first element tells rows from notes.
        if value and isinstance(value, tuple) and dataclasses.is_dataclass(value[0]) and name not in NOT_FED:
            rows[name] = value
    return rows
