"""The SQL that writes a batch's rows: one `INSERT ... SELECT FROM unnest(...)` per table,
built from each table's declared columns and their PostgreSQL types (tonypi_events.read_tables,
through rows.TABLES), and the column arrays it takes. store.py runs them."""

from __future__ import annotations

from collections.abc import Iterable

from tonypi_runtime.postgres import json_text

from .rows import (
    TABLES,
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
)

# Array parameters by column type: JSON travels as text[] (one encode per value, no codec
# per element) and is cast back; varchar as text[], as every string parameter does.
_PARAM_TYPE = {"json": "text", "jsonb": "text", "varchar": "text"}


def bulk_insert(row_type: type, conflict: str | None) -> str:
    table = TABLES[row_type]
    arrays = ", ".join(f"${i}::{_PARAM_TYPE.get(c.type, c.type)}[]" for i, c in enumerate(table.columns, 1))
    select = ", ".join(f"t.{c.name}::{c.type}" if c.is_json else f"t.{c.name}" for c in table.columns)
    names = ", ".join(table.names)
    sql = f"INSERT INTO {table.name} ({names}) SELECT {select} FROM unnest({arrays}) AS t({names})"
    if conflict:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in table.names if c != conflict)
        sql += f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    return sql


UPSERT_ROBOTS = bulk_insert(Robot, "robot_id")
UPSERT_JOBS = bulk_insert(Job, "id")
INSERT_LOGS = bulk_insert(LogEntry, None)
UPSERT_TOKEN = bulk_insert(ApiToken, "name")
REVOKE_TOKEN = (
    "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3::json WHERE name = $1 AND revoked_at IS NULL"
)
UPSERT_ALARMS = bulk_insert(Alarm, "id")
INSERT_TRANSITIONS = bulk_insert(AlarmTransition, None)
ADD_COUNTERS = (
    "INSERT INTO projection_counters (name, value) SELECT * FROM unnest($1::text[], $2::int8[]) "
    "ON CONFLICT (name) DO UPDATE SET value = projection_counters.value + EXCLUDED.value"
)
DROP_ZERO_COUNTERS = "DELETE FROM projection_counters WHERE name = ANY($1::text[]) AND value = 0"

UPSERT_COMMANDS = bulk_insert(Command, "command_id")
UPSERT_LATCHES = bulk_insert(Latch, "robot_id")
UPSERT_SCHEDULES = bulk_insert(Schedule, "schedule_id")
UPSERT_FIRINGS = bulk_insert(Firing, "command_id")
INSERT_FEED = (
    "INSERT INTO live_feed (seq, robot_id, event_type, kinds, at, data) "
    "SELECT t.seq, t.robot_id, t.event_type, string_to_array(t.kinds, ','), t.at, t.data::jsonb "
    "FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) "
    "AS t(seq, robot_id, event_type, kinds, at, data) ON CONFLICT (seq) DO NOTHING"
)


def column_arrays(rows: Iterable[object], row_type: type) -> list[list]:
    cols = [(c.name, c.is_json) for c in TABLES[row_type].columns]
    arrays: list[list] = [[] for _ in cols]
    for row in rows:
        for array, (col, is_json) in zip(arrays, cols, strict=True):
            value = getattr(row, col)
            if is_json and value is not None:
                value = json_text(value)
            array.append(value)
    return arrays
