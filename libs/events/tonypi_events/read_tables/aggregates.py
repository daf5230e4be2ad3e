"""Analytics per robot and UTC day, and telemetry history: sums and series the projector
adds to, which the query service reads through aggregates of its own (not served as rows)."""

from __future__ import annotations

from .shape import BIGINT, DATE, DOUBLE, NUMERIC, TEXT, TIMESTAMPTZ, VARCHAR, Column, Table, not_null


def _per_robot_day(name: str, key: tuple[str, ...], *columns: Column) -> Table:
    return Table(
        name,
        (not_null("robot_id", VARCHAR), not_null("day", DATE), *columns),
        primary_key=("robot_id", "day", *key),
    )


ANALYTICS_UTILIZATION = _per_robot_day(
    "analytics_utilization", (), not_null("online_us", BIGINT), not_null("busy_us", BIGINT)
)
ANALYTICS_JOB_OUTCOMES = _per_robot_day(
    "analytics_job_outcomes",
    ("status", "reason"),
    not_null("status", VARCHAR),
    not_null("reason", VARCHAR),
    not_null("jobs", BIGINT),
)
ANALYTICS_PERFORMANCE = _per_robot_day(
    "analytics_performance",
    (),
    not_null("jobs", BIGINT),
    not_null("items", BIGINT),
    not_null("duration_us", BIGINT),
)
ANALYTICS_JOB_BUCKETS = _per_robot_day(
    "analytics_job_buckets",
    ("measure", "le"),
    not_null("measure", VARCHAR),
    not_null("le", DOUBLE),
    not_null("jobs", BIGINT),
)
ANALYTICS_ERRORS = _per_robot_day(
    "analytics_errors",
    ("level", "template"),
    not_null("level", VARCHAR),
    not_null("template", VARCHAR),
    not_null("occurrences", BIGINT),
    not_null("example", VARCHAR),
)

HISTORY_RAW = Table(
    "history_raw",
    (
        not_null("robot_id", TEXT),
        not_null("metric", TEXT),
        not_null("t", TIMESTAMPTZ),
        not_null("value", DOUBLE),
    ),
    primary_key=(),
    partitioned=True,
)


def _rollup(name: str) -> Table:
    return Table(
        name,
        (
            not_null("robot_id", TEXT),
            not_null("metric", TEXT),
            not_null("bucket", TIMESTAMPTZ),
            not_null("min", DOUBLE),
            not_null("max", DOUBLE),
            not_null("sum", NUMERIC),
            not_null("count", BIGINT),
            not_null("last", DOUBLE),
            not_null("last_t", TIMESTAMPTZ),
        ),
        primary_key=("robot_id", "metric", "bucket"),
        partitioned=True,
    )


HISTORY_MINUTE = _rollup("history_minute")
HISTORY_HOUR = _rollup("history_hour")
