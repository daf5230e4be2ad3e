"""Every read table, declared once: its columns (PostgreSQL type, nullability, JSON-ness,
projector-internal or served), its keys. The contract between the projector, the only
writer, and the query service, a reader.

Derived from it: the projector's column lists and bulk writes (rows.py, bulk.py), the
columns an operator may set (folds/robots.py), replay's table list, the query's SELECT
lists (reads.py) and the test fakes' rows. Tests compare it with the database the
migrations build (tests/projector/test_read_tables.py) and with the API's response models
(tests/query/test_read_tables_served.py). Adding a column: here, a migration, the fold
(docs/projector.md, "Adding a column").
"""

from __future__ import annotations

from types import MappingProxyType

from .aggregates import (
    ANALYTICS_ERRORS,
    ANALYTICS_JOB_BUCKETS,
    ANALYTICS_JOB_OUTCOMES,
    ANALYTICS_PERFORMANCE,
    ANALYTICS_UTILIZATION,
    HISTORY_HOUR,
    HISTORY_MINUTE,
    HISTORY_RAW,
)
from .bookkeeping import (
    PROJECTION_CHECKPOINT,
    PROJECTION_COUNTERS,
    PROJECTION_DEAD_LETTERS,
    SCHEMA_MIGRATIONS,
)
from .fleet import ALARM_TRANSITIONS, ALARMS, API_TOKENS, JOBS, ROBOTS, SYSTEM_LOGS
from .operations import COMMANDS, EMERGENCY_STOPS, LIVE_FEED, SCHEDULE_FIRINGS, SCHEDULES
from .shape import Column, Table

# Every table the migrations make, and nothing else: `tonypi replay` rebuilds and swaps these.
TABLES: tuple[Table, ...] = (
    ROBOTS,
    JOBS,
    SYSTEM_LOGS,
    API_TOKENS,
    ALARMS,
    ALARM_TRANSITIONS,
    PROJECTION_COUNTERS,
    PROJECTION_CHECKPOINT,
    PROJECTION_DEAD_LETTERS,
    SCHEMA_MIGRATIONS,
    COMMANDS,
    EMERGENCY_STOPS,
    LIVE_FEED,
    SCHEDULES,
    SCHEDULE_FIRINGS,
    ANALYTICS_UTILIZATION,
    ANALYTICS_JOB_OUTCOMES,
    ANALYTICS_PERFORMANCE,
    ANALYTICS_JOB_BUCKETS,
    ANALYTICS_ERRORS,
    HISTORY_RAW,
    HISTORY_MINUTE,
    HISTORY_HOUR,
)
BY_NAME = MappingProxyType({t.name: t for t in TABLES})
assert len(BY_NAME) == len(TABLES), "a table declared twice"

__all__ = [
    "ALARMS",
    "ALARM_TRANSITIONS",
    "ANALYTICS_ERRORS",
    "ANALYTICS_JOB_BUCKETS",
    "ANALYTICS_JOB_OUTCOMES",
    "ANALYTICS_PERFORMANCE",
    "ANALYTICS_UTILIZATION",
    "API_TOKENS",
    "BY_NAME",
    "COMMANDS",
    "EMERGENCY_STOPS",
    "HISTORY_HOUR",
    "HISTORY_MINUTE",
    "HISTORY_RAW",
    "JOBS",
    "LIVE_FEED",
    "PROJECTION_CHECKPOINT",
    "PROJECTION_COUNTERS",
    "PROJECTION_DEAD_LETTERS",
    "ROBOTS",
    "SCHEDULES",
    "SCHEDULE_FIRINGS",
    "SCHEMA_MIGRATIONS",
    "SYSTEM_LOGS",
    "TABLES",
    "Column",
    "Table",
]
