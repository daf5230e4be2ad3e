"""Handlers of the analytics and export endpoints (docs/analytics.md)."""

from __future__ import annotations

from aiohttp import web
from tonypi_events.live_feed import AUTH_LOG_CATEGORY

from . import analytics_shapes as shapes
from .analytics_models import ErrorPatternOut, JobOutcomesOut, PerformanceOut, UtilizationOut
from .auth import Role, principal
from .endpoints import Inputs, json_reply
from .export import stream_export
from .keys import READS
from .models import JobOut, LogOut
from .pagination import decode_cursor
from .reads import jobs_sql, logs_sql


async def utilization(request: web.Request, inputs: Inputs) -> web.Response:
    rows = await request.app[READS].utilization(inputs.query)
    return json_reply([shapes.utilization_row(r) for r in rows], list[UtilizationOut])


async def job_outcomes(request: web.Request, inputs: Inputs) -> web.Response:
    rows = await request.app[READS].job_outcomes(inputs.query)
    return json_reply(shapes.outcome_rows(rows), list[JobOutcomesOut])


async def performance(request: web.Request, inputs: Inputs) -> web.Response:
    sums, buckets = await request.app[READS].performance(inputs.query)
    return json_reply(shapes.performance_rows(sums, buckets), list[PerformanceOut])


async def error_patterns(request: web.Request, inputs: Inputs) -> web.Response:
    rows = await request.app[READS].error_patterns(inputs.query)
    return json_reply([dict(r) for r in rows], list[ErrorPatternOut])


async def export_logs(request: web.Request, inputs: Inputs) -> web.StreamResponse:
    query = inputs.query
    cursor = decode_cursor(query.before) if query.before else None
    who = principal(request)  # token lifecycle lines are for admins, as in GET /logs
    hidden = () if who.role is not None and who.role >= Role.ADMIN else (AUTH_LOG_CATEGORY,)
    sql, args = logs_sql(query, cursor, hidden)
    return await stream_export(request, request.app[READS].export(sql, args), LogOut, query.format, "logs")


async def export_jobs(request: web.Request, inputs: Inputs) -> web.StreamResponse:
    query = inputs.query
    cursor = decode_cursor(query.before) if query.before else None
    sql, args = jobs_sql(query, cursor)
    return await stream_export(request, request.app[READS].export(sql, args), JobOut, query.format, "jobs")
