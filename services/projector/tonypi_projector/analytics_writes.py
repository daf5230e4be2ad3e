"""Writing a batch's analytics deltas (folds/analytics.py): one additive upsert per table,
in the batch's transaction. Sums of integers: the same totals however the stream was cut
into batches, so a replay rebuilds them exactly."""

from __future__ import annotations

import asyncpg

from .folds.analytics import Analytics

ADD_UTILIZATION = """
INSERT INTO analytics_utilization (robot_id, day, online_us, busy_us)
SELECT * FROM unnest($1::text[], $2::date[], $3::int8[], $4::int8[])
ON CONFLICT (robot_id, day) DO UPDATE SET
  online_us = analytics_utilization.online_us + EXCLUDED.online_us,
  busy_us = analytics_utilization.busy_us + EXCLUDED.busy_us"""
ADD_OUTCOMES = """
INSERT INTO analytics_job_outcomes (robot_id, day, status, reason, jobs)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int8[])
ON CONFLICT (robot_id, day, status, reason) DO UPDATE SET
  jobs = analytics_job_outcomes.jobs + EXCLUDED.jobs"""
ADD_PERFORMANCE = """
INSERT INTO analytics_performance (robot_id, day, jobs, items, duration_us)
SELECT * FROM unnest($1::text[], $2::date[], $3::int8[], $4::int8[], $5::int8[])
ON CONFLICT (robot_id, day) DO UPDATE SET
  jobs = analytics_performance.jobs + EXCLUDED.jobs,
  items = analytics_performance.items + EXCLUDED.items,
  duration_us = analytics_performance.duration_us + EXCLUDED.duration_us"""
ADD_BUCKETS = """
INSERT INTO analytics_job_buckets (robot_id, day, measure, le, jobs)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::float8[], $5::int8[])
ON CONFLICT (robot_id, day, measure, le) DO UPDATE SET
  jobs = analytics_job_buckets.jobs + EXCLUDED.jobs"""
# The example is the first message of the template that day: kept once written.
ADD_ERRORS = """
INSERT INTO analytics_errors (robot_id, day, level, template, occurrences, example)
SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::int8[], $6::text[])
ON CONFLICT (robot_id, day, level, template) DO UPDATE SET
  occurrences = analytics_errors.occurrences + EXCLUDED.occurrences"""


def _columns(table: dict) -> list[list]:
    """{(k1, k2, ...): v or [v1, v2]} as column arrays, keys sorted (a stable lock order)."""
    rows = [(*key, *(value if isinstance(value, list) else [value])) for key, value in sorted(table.items())]
    return [list(column) for column in zip(*rows, strict=True)]


async def write_analytics(conn: asyncpg.Connection, analytics: Analytics) -> None:
    for sql, table in (
        (ADD_UTILIZATION, analytics.utilization),
        (ADD_OUTCOMES, analytics.outcomes),
        (ADD_PERFORMANCE, analytics.performance),
        (ADD_BUCKETS, analytics.buckets),
        (ADD_ERRORS, analytics.errors),
    ):
        if table:
            await conn.execute(sql, *_columns(table))
