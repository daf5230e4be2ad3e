"""Helpers for the projector's tests: making and publishing events, reading the tables."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from tonypi_events import API_SOURCE, EventEnvelope, EventType, StreamNames, encode, headers_for, new_event_id

BASE_TIME = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
_clock = itertools.count()

TABLE_ORDER = {
    "robots": "id",
    "jobs": "id",
    "system_logs": "id",
    "alarms": "id",
    "alarm_transitions": "id",
    "projection_counters": "name",
    "schedules": "schedule_id",
    "schedule_firings": "command_id",
    "analytics_utilization": "robot_id, day",
    "analytics_job_outcomes": "robot_id, day, status, reason",
    "analytics_performance": "robot_id, day",
    "analytics_job_buckets": "robot_id, day, measure, le",
    "analytics_errors": "robot_id, day, level, template",
    "history_raw": "robot_id, metric, t, value",
    "history_minute": "robot_id, metric, bucket",
    "history_hour": "robot_id, metric, bucket",
}


def event(
    event_type: EventType | str,
    robot_id: str,
    payload: dict[str, Any] | None = None,
    *,
    version: int = 1,
    at: datetime | None = None,
    source: str | None = None,
) -> EventEnvelope:
    event_type = EventType(event_type)
    body = {"robot_id": robot_id, **(payload or {})}
    return EventEnvelope(
        event_id=new_event_id(),
        event_type=event_type,
        schema_version=version,
        robot_id=robot_id,
        received_at=at or BASE_TIME + timedelta(milliseconds=next(_clock)),
        source=source
        or (API_SOURCE if event_type.value.startswith("robot_") else f"tonypi/{event_type.value}/{robot_id}"),
        payload=body,
    )


async def publish(js: JetStreamContext, names: StreamNames, ev: EventEnvelope) -> int:
    ack = await js.publish(
        names.subjects.event(ev.robot_id, ev.event_type),
        encode(ev),
        stream=names.events,
        headers=headers_for(ev),
    )
    return ack.seq


async def publish_raw(
    js: JetStreamContext, names: StreamNames, robot_token: str, data: bytes, kind: str = "status"
) -> int:
    ack = await js.publish(f"{names.subject_prefix}.events.{robot_token}.{kind}", data, stream=names.events)
    return ack.seq


async def checkpoint(database_url: str) -> int:
    try:
        conn = await asyncpg.connect(database_url)
    except asyncpg.InvalidCatalogNameError:  # the projector has not created it yet
        return 0
    try:
        value = await conn.fetchval(
            "SELECT last_seq FROM projection_checkpoint WHERE projection = 'read_tables'"
        )
        return int(value or 0)
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def wait_for_checkpoint(database_url: str, seq: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        try:
            last = await checkpoint(database_url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            last = -1
        if last >= seq:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"checkpoint {last} did not reach {seq} within {timeout}s")


async def table_rows(database_url: str, table: str, schema: str = "public") -> list[dict]:
    """Every row, as JSON-comparable dicts, in id order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            f'SELECT to_jsonb(tbl)::text AS row FROM "{schema}"."{table}" tbl ORDER BY {TABLE_ORDER[table]}'
        )
    finally:
        await conn.close()

    return [json.loads(r["row"]) for r in rows]


async def snapshot(database_url: str) -> dict[str, list[dict]]:
    return {table: await table_rows(database_url, table) for table in TABLE_ORDER}


async def wait_applied(js: JetStreamContext, names: StreamNames, database_url: str, published: int) -> int:
    """Until `published` messages are events in the stream (ingest forwarded every one) and
    the projector has folded them all; returns the stream's last sequence."""
    deadline = time.monotonic() + 30
    while (await js.stream_info(names.events)).state.messages < published:
        if time.monotonic() > deadline:
            stored = (await js.stream_info(names.events)).state.messages
            raise TimeoutError(f"{stored} of {published} messages reached the stream")
        await asyncio.sleep(0.05)
    last = (await js.stream_info(names.events)).state.last_seq
    await wait_for_checkpoint(database_url, last)
    return last
