"""Analytics per robot and day, and the exports (docs/analytics.md)."""

from __future__ import annotations

from .. import analytics_handlers as h
from ..analytics_models import (
    AnalyticsQuery,
    ErrorPatternOut,
    ErrorsQuery,
    JobOutcomesOut,
    JobsExportQuery,
    LogsExportQuery,
    PerformanceOut,
    UtilizationOut,
)
from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..models import ErrorOut
from .replies import API, INVALID, JOBS, LOGS

ANALYTICS = "analytics"
EXPORT_FORMATS = (
    "csv (text/csv, a header row; nested values as JSON text; cells starting = + - @ | % prefixed "
    "with ') or jsonl (application/x-ndjson, one object per line), the fields of the paged read"
)
EXPORT_BUSY = Reply(ErrorOut, "this replica runs its most exports at once already; retry")


def _read(path: str, handler, summary: str, model, query=AnalyticsQuery) -> Endpoint:
    return Endpoint(
        "GET",
        f"{API}/analytics/{path}",
        handler,
        summary,
        ANALYTICS,
        {200: Reply(list[model], "rows by bucket (and robot), oldest first"), 422: INVALID},
        query_model=query,
        role=Role.VIEWER,
    )


ANALYTICS_ENDPOINTS: list[Endpoint] = [
    _read("utilization", h.utilization, "Time in a job over time online", UtilizationOut),
    _read("jobs", h.job_outcomes, "Job outcomes, with their reasons", JobOutcomesOut),
    _read("performance", h.performance, "Items per hour and job durations", PerformanceOut),
    Endpoint(
        "GET",
        f"{API}/analytics/errors",
        h.error_patterns,
        "The most frequent log messages at WARNING and above, by template",
        ANALYTICS,
        {200: Reply(list[ErrorPatternOut], "templates, most occurrences first"), 422: INVALID},
        query_model=ErrorsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/logs/export",
        h.export_logs,
        "Every log entry the filters select, streamed as CSV or JSON lines (newest first)",
        LOGS,
        {
            200: Reply(str, EXPORT_FORMATS, media_type="text/csv", also=("application/x-ndjson",)),
            422: INVALID,
            503: EXPORT_BUSY,
        },
        query_model=LogsExportQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/jobs/export",
        h.export_jobs,
        "Every job the filters select, streamed as CSV or JSON lines (newest first)",
        JOBS,
        {
            200: Reply(str, EXPORT_FORMATS, media_type="text/csv", also=("application/x-ndjson",)),
            422: INVALID,
            503: EXPORT_BUSY,
        },
        query_model=JobsExportQuery,
        role=Role.VIEWER,
    ),
]
