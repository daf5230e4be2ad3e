"""Operator commands, the emergency-stop latches, schedules and the live feed."""

from __future__ import annotations

from .shape import (
    BIGINT,
    BOOLEAN,
    DOUBLE,
    INTEGER,
    JSONB,
    TEXT,
    TIMESTAMPTZ,
    VARCHAR,
    VARCHAR_ARRAY,
    Column,
    Table,
    not_null,
)

COMMANDS = Table(
    "commands",
    (
        not_null("command_id", VARCHAR),
        not_null("seq", BIGINT, served_as="sequence"),  # of the request: keyset order
        not_null("robot_id", VARCHAR),  # or '_fleet' for a broadcast
        not_null("type", VARCHAR),
        not_null("params", JSONB),
        not_null("state", VARCHAR),
        not_null("wait", BOOLEAN),
        not_null("timeout_s", DOUBLE),
        not_null("actor", JSONB),
        not_null("requested_at", TIMESTAMPTZ),
        not_null("deadline", TIMESTAMPTZ),
        Column("sent_at", TIMESTAMPTZ),
        not_null("sent_count", INTEGER),
        Column("finished_at", TIMESTAMPTZ),
        Column("response", JSONB),
        not_null("updated_at", TIMESTAMPTZ, internal=True),
        Column("outcomes", JSONB),
    ),
    primary_key=("command_id",),
    served=True,
)

EMERGENCY_STOPS = Table(
    "emergency_stops",
    (
        not_null("robot_id", VARCHAR),  # or '_fleet': the whole fleet
        not_null("engaged", BOOLEAN),
        not_null("command_id", VARCHAR),
        Column("reason", VARCHAR),
        not_null("actor", JSONB),
        not_null("changed_at", TIMESTAMPTZ),
        not_null("seq", BIGINT, internal=True),
    ),
    primary_key=("robot_id",),
    served=True,
)

LIVE_FEED = Table(
    "live_feed",
    (
        not_null("seq", BIGINT),
        not_null("robot_id", VARCHAR),
        not_null("event_type", VARCHAR),
        not_null("kinds", VARCHAR_ARRAY),
        not_null("at", TIMESTAMPTZ),
        not_null("data", JSONB),
    ),
    primary_key=("seq",),
)

SCHEDULES = Table(
    "schedules",
    (
        not_null("schedule_id", VARCHAR),
        not_null("seq", BIGINT, served_as="sequence"),  # of job_scheduled: list order
        not_null("robot_ids", JSONB),
        not_null("task_name", VARCHAR),
        not_null("items_total", INTEGER),
        not_null("timeout_s", DOUBLE),
        not_null("actor", JSONB),
        not_null("state", VARCHAR),
        not_null("created_at", TIMESTAMPTZ),
        not_null("updated_at", TIMESTAMPTZ),
        Column("at", TIMESTAMPTZ),
        Column("cron", VARCHAR),
        Column("next_fire_at", TIMESTAMPTZ),
        not_null("fired", INTEGER),
    ),
    primary_key=("schedule_id",),
    served=True,
)

SCHEDULE_FIRINGS = Table(
    "schedule_firings",
    (
        not_null("command_id", VARCHAR),
        not_null("schedule_id", VARCHAR),
        not_null("robot_id", VARCHAR),
        not_null("due_at", TIMESTAMPTZ),
        not_null("fired_at", TIMESTAMPTZ),
        not_null("seq", BIGINT, internal=True),
        not_null("state", VARCHAR),
        not_null("updated_at", TIMESTAMPTZ, internal=True),
        Column("reason", TEXT),
        Column("dispatched_at", TIMESTAMPTZ),
    ),
    primary_key=("command_id",),
    served=True,
)
