"""The live feed: one compact change record per applied event, written in the batch's
transaction and tailed by the query service for Server-Sent Events (docs/live.md).

What a record may carry is an allow-list, `tonypi_events.live_feed`: the event types that
make a record (token events make none), whether it carries the payload, the tables and, of
each, the columns. A table or column a later fold adds is not published until it is
declared there.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tonypi_events import EventEnvelope, live_feed
from tonypi_runtime.postgres import json_text

from .folds.context import Outcome
from .rows import JsonObject, Robot

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
        return json_text(self.data, default=_json_default)


def _json_default(value: Any) -> Any:
    # Called by the C encoder for what JSON has no type for: only times occur in rows. (A
    # walk converting every value first cost the projector a tenth of its catch-up time.)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):  # a read-only view of a JSON object
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def entry(
    seq: int,
    event: EventEnvelope,
    robot: Robot | None,
    rows: Mapping[str, Sequence[Any]],
    message_bytes: int,
) -> FeedEntry | None:
    """`robot`: the robot row if this event changed it; `rows`: table name -> rows written;
    `message_bytes`: the size of the stream message (a payload no bigger needs no measuring).
    None for an event the allow-list does not publish, or one that changed nothing it
    publishes (a clock tick that timed nothing out): no record."""
    fed = live_feed.EVENTS.get(event.event_type)
    if fed is None:
        return None
    written = {}
    kinds: list[str] = [event.event_type.value]
    for table, table_rows in rows.items():
        spec = live_feed.TABLES.get(table)
        if spec is None or not table_rows:
            continue
        picked = [_pick(r, spec.columns) for r in table_rows if not _hidden(table, r)]
        if picked:
            kinds.append(spec.kind)
            written[table] = picked
    if robot is None and not written:
        return None
    data: JsonObject = {
        "schema": live_feed.SCHEMA_VERSION,
        "event_type": event.event_type.value,
        "robot_id": event.robot_id,
        "source": event.source,
    }
    if fed.payload and (
        message_bytes <= MAX_PAYLOAD_CHARS or len(json.dumps(event.payload)) <= MAX_PAYLOAD_CHARS
    ):
        data["payload"] = event.payload
    if robot is not None:
        kinds.insert(1, live_feed.FeedKind.ROBOT.value)
        data["robot"] = _pick(robot, live_feed.ROBOT_SUMMARY)
    if written:
        data["rows"] = written
    return FeedEntry(
        seq, event.robot_id, event.event_type.value, tuple(dict.fromkeys(kinds)), event.received_at, data
    )


def _pick(row: Any, names: Sequence[str]) -> JsonObject:
    return {name: getattr(row, name) for name in names}


def _hidden(table: str, row: Any) -> bool:
    """A token's `auth` log line is for admins' /logs only (and no event that writes one is fed)."""
    return table == "logs" and row.category == live_feed.AUTH_LOG_CATEGORY


# The fed tables a fold's Outcome carries, each in the Outcome field of its name; the batch
# adds the command book's (`commands`, `latches`). An Outcome's other rows are never fed:
# tokens (token events make no record), samples (the history has its own API), and a field
# a later fold adds stays out until it is named here and in live_feed.TABLES
# (tests/projector/test_feed_allow_list.py holds the two together).
FROM_FOLDS = ("jobs", "logs", "alarms", "transitions")
FROM_BATCH = ("commands", "latches")


def outcome_rows(outcome: Outcome) -> dict[str, Sequence[Any]]:
    """The fed tables' rows this fold's Outcome wrote, by table name (none: left out)."""
    return {name: rows for name in FROM_FOLDS if (rows := getattr(outcome, name))}
