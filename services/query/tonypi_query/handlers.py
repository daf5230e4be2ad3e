"""Thin HTTP handlers: inputs arrive validated (see endpoints.py); each asks `Reads` or
`RobotWrites` and shapes the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from tonypi_events.live_feed import AUTH_LOG_CATEGORY
from yarl import URL

from .actor import actor_of
from .alarm_models import AlarmDetailOut, AlarmOut
from .auth import Role, actor, principal
from .endpoints import Inputs, json_body_reply, json_reply
from .errors import NotFound
from .keys import READS, WRITES
from .models import AcceptedOut, JobOut, LogOut, MessageOut, StatsOut, TelemetryOut
from .pagination import decode_cursor, decode_robot_cursor, encode_cursor, encode_robot_cursor, next_link
from .reads import completed_today_counter
from .robot_json import encode_robot, encode_robots
from .writes import WriteResult

API = "/api/robots-db"


def robot_location(robot_id: str) -> str:
    return str(URL(API) / "robots" / robot_id)


async def _robot_or_404(request: web.Request, robot_id: str) -> dict[str, Any]:
    row = await request.app[READS].robot(robot_id)
    if row is None:
        raise NotFound("Robot not found")
    return dict(row)


def _accepted(result: WriteResult, robot_id: str) -> web.Response:
    location = robot_location(robot_id)
    body = AcceptedOut(
        message="Accepted: the change is recorded and will be visible shortly",
        event_sequence=result.sequence,
        location=location,
    )
    return json_reply(body, AcceptedOut, status=202, headers={"Location": location})


async def list_robots(request: web.Request, inputs: Inputs) -> web.Response:
    """One page of active robots by robot id; a full page links the next (`after`)."""
    query = inputs.query
    after = decode_robot_cursor(query.after) if query.after else None
    rows = await request.app[READS].robot_page(query, after)
    headers = {}
    if query.limit and len(rows) == query.limit:
        headers["Link"] = next_link(request, encode_robot_cursor(rows[-1]["robot_id"]), "after")
    return json_body_reply(encode_robots(rows), headers=headers)


async def get_robot(request: web.Request, inputs: Inputs) -> web.Response:
    return json_body_reply(encode_robot(await _robot_or_404(request, inputs.path.robot_id)))


async def create_robot(request: web.Request, inputs: Inputs) -> web.Response:
    robot_id = inputs.body.robot_id
    result = await request.app[WRITES].register(inputs.body, actor(request))
    if not result.applied:
        return _accepted(result, robot_id)
    row = await request.app[READS].robot(robot_id)
    return json_body_reply(encode_robot(row)) if row is not None else _accepted(result, robot_id)


async def update_robot(request: web.Request, inputs: Inputs) -> web.Response:
    robot_id = inputs.path.robot_id
    result = await request.app[WRITES].update(robot_id, inputs.body, actor(request))
    if not result.applied:
        return _accepted(result, robot_id)
    return json_body_reply(encode_robot(await _robot_or_404(request, robot_id)))


async def delete_robot(request: web.Request, inputs: Inputs) -> web.Response:
    robot_id = inputs.path.robot_id
    result = await request.app[WRITES].deactivate(robot_id, actor(request))
    if not result.applied:
        return _accepted(result, robot_id)
    return json_reply(MessageOut(message="Robot deleted successfully"), MessageOut)


async def robot_telemetry(request: web.Request, inputs: Inputs) -> web.Response:
    row = await request.app[READS].telemetry(inputs.path.robot_id)
    if row is None:
        raise NotFound("Robot not found")
    snapshot = row["telemetry"] or {}
    known = {k: snapshot[k] for k in TelemetryOut.model_fields if k in snapshot}
    body = {
        **known,
        "robot_id": row["robot_id"],
        "status": row["status"],
        "online": row["online"],
        "last_seen": row["last_seen"],
    }
    return json_reply(body, TelemetryOut)


def _page(
    request: web.Request, rows: list, limit: int, sort_key: Callable[[Any], Any], as_type: Any
) -> web.Response:
    headers = {}
    if limit and len(rows) == limit:
        last = rows[-1]
        if sort_key(last) is not None:
            headers["Link"] = next_link(request, encode_cursor(sort_key(last), last["id"]))
    return json_reply([dict(r) for r in rows], as_type, headers=headers)


async def list_logs(request: web.Request, inputs: Inputs) -> web.Response:
    query = inputs.query
    cursor = decode_cursor(query.before) if query.before else None
    # Token lifecycle lines (names, roles, who made them) are for admins (docs/live.md).
    who = principal(request)
    hidden = () if who.role is not None and who.role >= Role.ADMIN else (AUTH_LOG_CATEGORY,)
    rows = await request.app[READS].logs(query, cursor, hidden)
    return _page(request, rows, query.limit, lambda r: r["timestamp"], list[LogOut])


async def job_history(request: web.Request, inputs: Inputs) -> web.Response:
    query = inputs.query
    cursor = decode_cursor(query.before) if query.before else None
    rows = await request.app[READS].jobs(query, cursor)
    return _page(request, rows, query.limit, lambda r: r["start_time"], list[JobOut])


async def get_job(request: web.Request, inputs: Inputs) -> web.Response:
    row = await request.app[READS].job(inputs.path.id)
    if row is None:
        raise NotFound("Job not found")
    return json_reply(dict(row), JobOut)


async def stats(request: web.Request, _: Inputs) -> web.Response:
    """From the projector's counters: no table is counted per request."""
    counters = await request.app[READS].counters()
    by_kind: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for name, n in counters.items():
        if name.startswith("alarms_open:") and n:
            _, kind, severity = name.split(":", 2)
            by_kind[kind] = by_kind.get(kind, 0) + n
            by_severity[severity] = by_severity.get(severity, 0) + n
    total, online = counters.get("robots_total", 0), counters.get("robots_online", 0)
    body = {
        "total_robots": total,
        "online_robots": online,
        "offline_robots": total - online,
        "total_jobs": counters.get("jobs_total", 0),
        "active_jobs": counters.get("jobs_active", 0),
        "completed_jobs_today": counters.get(completed_today_counter(), 0),
        "active_alarms": sum(by_kind.values()),
        "active_alarms_by_severity": by_severity,
        "active_alarms_by_kind": by_kind,
    }
    return json_reply(body, StatsOut)


def alarm_location(alarm_id: int) -> str:
    return f"{API}/alarms/{alarm_id}"


async def list_alarms(request: web.Request, inputs: Inputs) -> web.Response:
    query = inputs.query
    cursor = decode_cursor(query.before) if query.before else None
    rows = await request.app[READS].alarms(query, cursor)
    return _page(request, rows, query.limit, lambda r: r["raised_at"], list[AlarmOut])


async def _alarm_detail(request: web.Request, alarm_id: int) -> dict[str, Any]:
    reads = request.app[READS]
    row = await reads.alarm(alarm_id)
    if row is None:
        raise NotFound("Alarm not found")
    return {**dict(row), "transitions": [dict(t) for t in await reads.transitions(alarm_id)]}


async def get_alarm(request: web.Request, inputs: Inputs) -> web.Response:
    return json_reply(await _alarm_detail(request, inputs.path.id), AlarmDetailOut)


async def acknowledge_alarm(request: web.Request, inputs: Inputs) -> web.Response:
    """An acknowledgement is an event; acknowledging twice, or a cleared alarm, changes
    nothing and answers the alarm as it is."""
    alarm = await _alarm_detail(request, inputs.path.id)
    if alarm["state"] != "open" or alarm["acknowledged_at"] is not None:
        return json_reply(alarm, AlarmDetailOut)
    result = await request.app[WRITES].acknowledge_alarm(alarm["robot_id"], alarm["id"], actor_of(request))
    if not result.applied:
        location = alarm_location(alarm["id"])
        body = AcceptedOut(
            message="Accepted: the acknowledgement is recorded and will be visible shortly",
            event_sequence=result.sequence,
            location=location,
        )
        return json_reply(body, AcceptedOut, status=202, headers={"Location": location})
    return json_reply(await _alarm_detail(request, alarm["id"]), AlarmDetailOut)
