"""Telemetry history endpoints (docs/history.md): the vocabulary, one robot's series, one
metric across the fleet."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic_core import to_json
from tonypi_events import metrics_vocabulary as vocab

from .endpoints import Inputs, json_reply
from .errors import NotFound, RequestValidationError
from .export import stream_export
from .history_models import FleetHistoryOut, HistoryRowOut, MetricOut
from .history_plan import PlanError, Retention, export_source, fleet_source, plan, time_range
from .history_reads import export_sql
from .keys import READS, SETTINGS

METRICS = [MetricOut(name=m.name, unit=m.unit, description=m.description) for m in vocab.VOCABULARY]


def _retention(request: web.Request) -> Retention:
    settings = request.app.get(SETTINGS)
    return Retention(
        raw_days=getattr(settings, "history_raw_days", 14.0),
        minute_days=getattr(settings, "history_minute_days", 90.0),
    )


def _invalid(error: PlanError) -> RequestValidationError:
    return RequestValidationError([{"loc": ["query", error.field], "msg": str(error), "type": "value_error"}])


async def list_metrics(request: web.Request, _: Inputs) -> web.Response:
    return json_reply(METRICS, list[MetricOut])


async def robot_history(request: web.Request, inputs: Inputs) -> web.Response:
    query, robot_id = inputs.query, inputs.path.robot_id
    now = datetime.now(UTC)
    try:
        chosen = plan(query.from_, query.to, query.step, now, _retention(request))
    except PlanError as exc:
        raise _invalid(exc) from None
    reads = request.app[READS]
    if not await reads.robot_exists(robot_id):
        raise NotFound("Robot not found")
    metrics = list(dict.fromkeys(query.metric))  # each once, in the order asked
    rows = await reads.history(robot_id, metrics, chosen.start, chosen.end, chosen.step_s, chosen.source)
    by_metric = {row["metric"]: row for row in rows}
    body = {
        "robot_id": robot_id,
        "from": _iso(chosen.start),
        "to": _iso(chosen.end),
        "step_s": chosen.step_s,
        "source": chosen.source,
        "series": [
            {"metric": m, "unit": vocab.unit_of(m), "points": _points(by_metric.get(m))} for m in metrics
        ],
    }
    # Encoded directly, not through HistoryOut: validating thousands of points cost more than
    # the query. The shape is HistoryOut's (the OpenAPI document's; the schema tests check it).
    return web.Response(body=to_json(body), content_type="application/json")


async def export_history(request: web.Request, inputs: Inputs) -> web.StreamResponse:
    """Every row of the finest table that still keeps `from`, streamed (docs/history.md)."""
    query, robot_id = inputs.query, inputs.path.robot_id
    now = datetime.now(UTC)
    try:
        start, end = time_range(query.from_, query.to, now)
    except PlanError as exc:
        raise _invalid(exc) from None
    reads = request.app[READS]
    if not await reads.robot_exists(robot_id):
        raise NotFound("Robot not found")
    source = export_source(start, now, _retention(request))
    sql, args = export_sql(robot_id, list(dict.fromkeys(query.metric)), start, end, source)
    return await stream_export(request, reads.export(sql, args), HistoryRowOut, query.format, "history")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()  # as fields.UtcDateTime writes it: "+00:00"


def _points(row) -> list[dict]:
    if row is None:
        return []
    stamps = [datetime.fromtimestamp(t, UTC).isoformat() for t in row["t"]]
    keys = ("t", "min", "max", "mean", "last", "count")
    return [
        dict(zip(keys, p, strict=True))
        for p in zip(stamps, row["min"], row["max"], row["mean"], row["last"], row["count"], strict=True)
    ]


async def fleet_history(request: web.Request, inputs: Inputs) -> web.Response:
    query = inputs.query
    now = datetime.now(UTC)
    try:
        start, end = time_range(query.from_, query.to, now)
    except PlanError as exc:
        raise _invalid(exc) from None
    source = fleet_source(start, end, now, _retention(request))
    rows = await request.app[READS].fleet_history(query.metric, start, end, source, query.order, query.limit)
    body = {
        "metric": query.metric,
        "unit": vocab.unit_of(query.metric),
        "from_": start,
        "to": end,
        "source": source,
        "order": query.order,
        "robots": [dict(r) for r in rows],
    }
    return json_reply(body, FleetHistoryOut)
