"""The projector's own bookkeeping: its position in the stream, the events it could not
apply, the counters /stats reads, and the migrations applied."""

from __future__ import annotations

from .shape import BIGINT, BYTEA, INTEGER, TEXT, TIMESTAMPTZ, VARCHAR, Column, Table, not_null

PROJECTION_CHECKPOINT = Table(
    "projection_checkpoint",
    (
        not_null("projection", VARCHAR),
        not_null("stream", VARCHAR),
        not_null("last_seq", BIGINT),
        not_null("updated_at", TIMESTAMPTZ),
        Column("tick_seq", BIGINT),  # a clock tick folded in slices: how far (tick_slices.py)
        Column("tick_after", TEXT),
        Column("tick_next_id", BIGINT),
    ),
    primary_key=("projection",),
)

PROJECTION_DEAD_LETTERS = Table(
    "projection_dead_letters",
    (
        not_null("stream_seq", BIGINT),
        Column("event_id", VARCHAR),
        Column("event_type", VARCHAR),
        Column("schema_version", INTEGER),
        Column("robot_id", VARCHAR),
        not_null("error", TEXT),
        not_null("raw", BYTEA),
        not_null("failed_at", TIMESTAMPTZ),
    ),
    primary_key=("stream_seq",),
)

PROJECTION_COUNTERS = Table(
    "projection_counters",
    (not_null("name", VARCHAR), not_null("value", BIGINT)),
    primary_key=("name",),
)

# Created by the migration runner itself (tonypi_projector.migrations), not by a migration.
SCHEMA_MIGRATIONS = Table(
    "schema_migrations",
    (not_null("version", VARCHAR), not_null("applied_at", TIMESTAMPTZ)),
    primary_key=("version",),
)
