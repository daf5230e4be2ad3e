"""The SQL that writes a batch's rows: one `INSERT ... SELECT FROM unnest(...)` per table,
built from the row dataclasses (rows.py) and the PostgreSQL type of each column, and the
column arrays it takes. store.py runs them."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .rows import (
    Alarm,
    AlarmTransition,
    ApiToken,
    Command,
    Firing,
    Job,
    Latch,
    LogEntry,
    Robot,
    Schedule,
    columns,
)

# PostgreSQL type of every column, in the row dataclasses' field order.
_TYPES = {
    "id": "int8",
    "robot_id": "text",
    "name": "text",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "description": "text",
    "location": "text",
    "status": "text",
    "battery_threshold_low": "float8",
    "battery_threshold_critical": "float8",
    "temp_threshold_warning": "float8",
    "temp_threshold_critical": "float8",
    "settings": "json",
    "last_seen": "timestamptz",
    "is_active": "bool",
    "telemetry": "jsonb",
    "start_time": "timestamptz",
    "end_time": "timestamptz",
    "items_total": "int4",
    "items_done": "int4",
    "percent_complete": "float8",
    "last_item": "json",
    "task_name": "text",
    "phase": "text",
    "reason": "text",
    "robot_start_time": "text",
    "level": "text",
    "category": "text",
    "message": "text",
    "details": "json",
    "timestamp": "timestamptz",
    "token_sha256": "text",
    "role": "text",
    "created_by": "json",
    "revoked_at": "timestamptz",
    "revoked_by": "json",
    "online": "bool",
    "last_seen_seq": "int8",
    "kind": "text",
    "severity": "text",
    "raised_at": "timestamptz",
    "value": "float8",
    "threshold": "float8",
    "cleared_at": "timestamptz",
    "acknowledged_at": "timestamptz",
    "acknowledged_by": "json",
    "alarm_id": "int8",
    "action": "text",
    "at": "timestamptz",
    "event_seq": "int8",
    "command_id": "text",
    "seq": "int8",
    "type": "text",
    "params": "jsonb",
    "state": "text",  # commands, alarms
    "wait": "bool",
    "timeout_s": "float8",
    "actor": "jsonb",  # commands, alarm_transitions
    "requested_at": "timestamptz",
    "deadline": "timestamptz",
    "sent_at": "timestamptz",
    "sent_count": "int4",
    "finished_at": "timestamptz",
    "response": "jsonb",
    "outcomes": "jsonb",
    "firmware": "text",
    "pending_start": "jsonb",
    "engaged": "bool",
    "changed_at": "timestamptz",
    "schedule_id": "text",
    "robot_ids": "jsonb",
    "cron": "text",
    "next_fire_at": "timestamptz",
    "fired": "int4",
    "due_at": "timestamptz",
    "fired_at": "timestamptz",
    "dispatched_at": "timestamptz",
    "accrued_at": "timestamptz",
    "estimated_duration": "float8",
}
_JSON = frozenset({"json", "jsonb"})


def bulk_insert(table: str, row_type: type, conflict: str | None) -> str:
    cols = columns(row_type)
    # JSON travels as text[] (one encode per value, no codec per element) and is cast back.
    arrays = ", ".join(
        f"${i}::{'text' if _TYPES[c] in _JSON else _TYPES[c]}[]" for i, c in enumerate(cols, 1)
    )
    select = ", ".join(f"t.{c}::{_TYPES[c]}" if _TYPES[c] in _JSON else f"t.{c}" for c in cols)
    names = ", ".join(cols)
    sql = f"INSERT INTO {table} ({names}) SELECT {select} FROM unnest({arrays}) AS t({names})"
    if conflict:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != conflict)
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    return sql


UPSERT_ROBOTS = bulk_insert("robots", Robot, "robot_id")
UPSERT_JOBS = bulk_insert("jobs", Job, "id")
INSERT_LOGS = bulk_insert("system_logs", LogEntry, None)
UPSERT_TOKEN = bulk_insert("api_tokens", ApiToken, "name")
REVOKE_TOKEN = (
    "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3::json WHERE name = $1 AND revoked_at IS NULL"
)
UPSERT_ALARMS = bulk_insert("alarms", Alarm, "id")
INSERT_TRANSITIONS = bulk_insert("alarm_transitions", AlarmTransition, None)
ADD_COUNTERS = (
    "INSERT INTO projection_counters (name, value) SELECT * FROM unnest($1::text[], $2::int8[]) "
    "ON CONFLICT (name) DO UPDATE SET value = projection_counters.value + EXCLUDED.value"
)
DROP_ZERO_COUNTERS = "DELETE FROM projection_counters WHERE name = ANY($1::text[]) AND value = 0"

UPSERT_COMMANDS = bulk_insert("commands", Command, "command_id")
UPSERT_LATCHES = bulk_insert("emergency_stops", Latch, "robot_id")
UPSERT_SCHEDULES = bulk_insert("schedules", Schedule, "schedule_id")
UPSERT_FIRINGS = bulk_insert("schedule_firings", Firing, "command_id")
INSERT_FEED = (
    "INSERT INTO live_feed (seq, robot_id, event_type, kinds, at, data) "
    "SELECT t.seq, t.robot_id, t.event_type, string_to_array(t.kinds, ','), t.at, t.data::jsonb "
    "FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) "
    "AS t(seq, robot_id, event_type, kinds, at, data) ON CONFLICT (seq) DO NOTHING"
)


def column_arrays(rows: Iterable[object], row_type: type) -> list[list]:
    cols = columns(row_type)
    arrays: list[list] = [[] for _ in cols]
    for row in rows:
        for array, col in zip(arrays, cols, strict=True):
            value = getattr(row, col)
            if _TYPES[col] in _JSON and value is not None:
                value = json.dumps(value)
            array.append(value)
    return arrays
