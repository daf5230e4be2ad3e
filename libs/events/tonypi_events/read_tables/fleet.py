"""The fleet's tables: robots, their jobs, the system log, alarms, API tokens."""

from __future__ import annotations

from .shape import (
    BIGINT,
    BOOLEAN,
    DOUBLE,
    INTEGER,
    JSON,
    JSONB,
    TEXT,
    TIMESTAMPTZ,
    VARCHAR,
    Column,
    Table,
    not_null,
)

ROBOTS = Table(
    "robots",
    (
        not_null("id", BIGINT),
        not_null("robot_id", VARCHAR),
        Column("name", VARCHAR, operator=True),
        Column("description", VARCHAR, operator=True),
        Column("location", VARCHAR, operator=True),
        Column("status", VARCHAR, operator=True),
        Column("battery_threshold_low", DOUBLE, operator=True),
        Column("battery_threshold_critical", DOUBLE, operator=True),
        Column("temp_threshold_warning", DOUBLE, operator=True),
        Column("temp_threshold_critical", DOUBLE, operator=True),
        Column("settings", JSON, operator=True),
        Column("last_seen", TIMESTAMPTZ),
        Column("created_at", TIMESTAMPTZ),
        Column("updated_at", TIMESTAMPTZ),
        Column("is_active", BOOLEAN, operator=True),
        not_null("telemetry", JSONB),  # the latest snapshot: served by .../telemetry only
        not_null("online", BOOLEAN),
        Column("firmware", VARCHAR),
        Column("pending_start", JSONB, internal=True),
        Column("last_seen_seq", BIGINT, internal=True),
        Column("accrued_at", TIMESTAMPTZ, internal=True),
    ),
    primary_key=("id",),
    unique=(("robot_id",),),
    served=True,
)

JOBS = Table(
    "jobs",
    (
        not_null("id", BIGINT),
        not_null("robot_id", VARCHAR),
        not_null("start_time", TIMESTAMPTZ),
        Column("end_time", TIMESTAMPTZ),
        Column("items_total", INTEGER),
        Column("items_done", INTEGER),
        Column("percent_complete", DOUBLE),
        Column("last_item", JSON),
        Column("status", VARCHAR),
        Column("created_at", TIMESTAMPTZ),
        Column("updated_at", TIMESTAMPTZ),
        Column("task_name", VARCHAR),
        Column("phase", VARCHAR),
        Column("reason", VARCHAR),
        Column("robot_start_time", VARCHAR, internal=True),
        Column("command_id", VARCHAR),
        Column("estimated_duration", DOUBLE, internal=True),
    ),
    primary_key=("id",),
    served=True,
)

SYSTEM_LOGS = Table(
    "system_logs",
    (
        not_null("id", BIGINT),
        not_null("level", VARCHAR),
        not_null("category", VARCHAR),
        not_null("message", TEXT),
        Column("robot_id", VARCHAR),
        Column("details", JSON),
        Column("timestamp", TIMESTAMPTZ),
    ),
    primary_key=("id",),
    served=True,
)

API_TOKENS = Table(
    "api_tokens",
    (
        not_null("name", TEXT),
        not_null("token_sha256", TEXT),
        not_null("role", TEXT),
        not_null("created_at", TIMESTAMPTZ),
        Column("created_by", JSON),
        Column("revoked_at", TIMESTAMPTZ),
        Column("revoked_by", JSON),
    ),
    primary_key=("name",),
)

ALARMS = Table(
    "alarms",
    (
        not_null("id", BIGINT),
        not_null("robot_id", VARCHAR),
        not_null("kind", VARCHAR),
        not_null("severity", VARCHAR),
        not_null("state", VARCHAR),
        not_null("message", TEXT),
        not_null("raised_at", TIMESTAMPTZ),
        not_null("updated_at", TIMESTAMPTZ),
        Column("value", DOUBLE),
        Column("threshold", DOUBLE),
        Column("cleared_at", TIMESTAMPTZ),
        Column("acknowledged_at", TIMESTAMPTZ),
        Column("acknowledged_by", JSON),
        Column("details", JSON),
    ),
    primary_key=("id",),
    served=True,
)

ALARM_TRANSITIONS = Table(
    "alarm_transitions",
    (
        not_null("id", BIGINT),
        not_null("alarm_id", BIGINT, internal=True),  # served inside its alarm
        not_null("robot_id", VARCHAR, internal=True),
        not_null("kind", VARCHAR, internal=True),
        not_null("action", VARCHAR),
        not_null("severity", VARCHAR),
        not_null("at", TIMESTAMPTZ),
        not_null("event_seq", BIGINT),
        Column("value", DOUBLE),
        Column("actor", JSONB),
        Column("message", TEXT),
    ),
    primary_key=("id",),
    served=True,
)
