"""Logs, jobs and the fleet counts (REST.md)."""

from __future__ import annotations

from .. import handlers as h
from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..models import ErrorOut, JobOut, JobPath, JobsQuery, LogOut, LogsQuery, StatsOut
from .replies import API, INVALID, JOBS, LOGS, NEXT_PAGE, STATS

READ_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/logs",
        h.list_logs,
        "System logs, newest first",
        LOGS,
        {200: Reply(list[LogOut], "one page of log entries", headers=NEXT_PAGE), 422: INVALID},
        query_model=LogsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/jobs/history",
        h.job_history,
        "Jobs, newest first",
        JOBS,
        {200: Reply(list[JobOut], "one page of jobs", headers=NEXT_PAGE), 422: INVALID},
        query_model=JobsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/jobs/{{id}}",
        h.get_job,
        "One job",
        JOBS,
        {200: Reply(JobOut, "the job"), 404: Reply(ErrorOut, '`{"detail": "Job not found"}`'), 422: INVALID},
        path_model=JobPath,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/stats",
        h.stats,
        "Fleet and job counts",
        STATS,
        {
            200: Reply(
                StatsOut,
                "from the projector's counters; robot counts cover active robots; online as projected "
                "from the stream's clock",
            )
        },
        role=Role.VIEWER,
    ),
]
