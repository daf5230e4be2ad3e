"""Scheduled job dispatches over REST (docs/schedules.md): each write is one event under
`_schedules`, which the projector folds into `schedules` and fires from the stream's clock."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from tonypi_events import SCHEDULES, EventType, commanding, kinds
from yarl import URL

from .actor import actor_of
from .endpoints import Inputs, json_reply
from .errors import Conflict, NotFound, RequestValidationError
from .handlers import API
from .keys import READS, WRITES
from .pagination import decode_cursor, decode_keyed_cursor, encode_cursor, encode_keyed_cursor, next_link
from .schedule_models import FiringOut, ScheduleAcceptedOut, ScheduleOut
from .writes import WriteResult

START_JOB = "start_job"  # what each firing asks of each robot
# What each change needs the schedule to be in, and the event it appends.
CHANGES = {
    "pause": (EventType.SCHEDULE_PAUSED, {"active"}),
    "resume": (EventType.SCHEDULE_RESUMED, {"paused"}),
    "cancel": (EventType.SCHEDULE_CANCELLED, {"active", "paused"}),
}


def schedule_location(schedule_id: str) -> str:
    return str(URL(API) / "schedules" / schedule_id)


async def _reply(request: web.Request, schedule_id: str, result: WriteResult, status: int) -> web.Response:
    location = schedule_location(schedule_id)
    row = await request.app[READS].schedule(schedule_id) if result.applied else None
    if row is None:
        body = ScheduleAcceptedOut(
            message="Accepted: the schedule change is recorded; poll the Location",
            schedule_id=schedule_id,
            event_sequence=result.sequence,
            location=location,
        )
        return json_reply(body, ScheduleAcceptedOut, status=202, headers={"Location": location})
    return json_reply(dict(row), ScheduleOut, status=status, headers={"Location": location})


def _check_takes(robots: list[dict[str, Any]]) -> None:
    """422 when no robot of the schedule takes start_job, as the command API refuses a fleet
    command none can take. A robot that cannot while others can is recorded `missed`
    (`unsupported: ...`) at each firing, never sent a command to refuse."""
    if any(commanding.takes(r.get("firmware"), START_JOB) for r in robots):
        return
    firmwares = ", ".join(f"{r['robot_id']} runs {r['firmware']}" for r in robots)
    why = (
        f"no robot of the schedule takes {START_JOB!r} ({firmwares}); "
        "only the gen-2 simulator (firmware gen2_sim) does"
    )
    raise RequestValidationError([{"loc": ["body", "robot_ids"], "msg": why, "type": "unsupported_command"}])


async def create_schedule(request: web.Request, inputs: Inputs) -> web.Response:
    body = inputs.body
    reads = request.app[READS]
    robots = []
    for robot_id in body.robot_ids:
        row = await reads.robot(robot_id)
        if row is None:
            raise NotFound(f"Robot not found: {robot_id}")
        robots.append(dict(row))
    _check_takes(robots)
    schedule_id = str(uuid.uuid4())
    payload = kinds.JobScheduledV1(
        schedule_id=schedule_id,
        robot_ids=body.robot_ids,
        task_name=body.task_name,
        items_total=body.items_total,
        at=body.at,
        cron=body.cron,
        timeout_s=body.timeout_s,
        actor=actor_of(request),
    )
    result = await request.app[WRITES].append(EventType.JOB_SCHEDULED, SCHEDULES, payload)
    return await _reply(request, schedule_id, result, 201)


async def _change(request: web.Request, schedule_id: str, change: str) -> web.Response:
    event_type, allowed = CHANGES[change]
    row = await request.app[READS].schedule(schedule_id)
    if row is None:
        raise NotFound("Schedule not found")
    if row["state"] not in allowed:
        raise Conflict(f"Schedule is {row['state']}: it cannot {change}")
    payload = kinds.ScheduleChangedV1(schedule_id=schedule_id, actor=actor_of(request))
    result = await request.app[WRITES].append(event_type, SCHEDULES, payload)
    return await _reply(request, schedule_id, result, 200)


async def pause_schedule(request: web.Request, inputs: Inputs) -> web.Response:
    return await _change(request, inputs.path.schedule_id, "pause")


async def resume_schedule(request: web.Request, inputs: Inputs) -> web.Response:
    return await _change(request, inputs.path.schedule_id, "resume")


async def cancel_schedule(request: web.Request, inputs: Inputs) -> web.Response:
    return await _change(request, inputs.path.schedule_id, "cancel")


async def list_schedules(request: web.Request, inputs: Inputs) -> web.Response:
    query = inputs.query
    before = decode_cursor(query.before)[1] if query.before else None
    rows = await request.app[READS].schedules(query.limit, before)
    headers = {}
    if query.limit and len(rows) == query.limit:
        headers["Link"] = next_link(request, encode_cursor(rows[-1]["created_at"], rows[-1]["sequence"]))
    return json_reply([dict(r) for r in rows], list[ScheduleOut], headers=headers)


async def get_schedule(request: web.Request, inputs: Inputs) -> web.Response:
    row = await request.app[READS].schedule(inputs.path.schedule_id)
    if row is None:
        raise NotFound("Schedule not found")
    return json_reply(dict(row), ScheduleOut)


async def schedule_firings(request: web.Request, inputs: Inputs) -> web.Response:
    reads = request.app[READS]
    if await reads.schedule(inputs.path.schedule_id) is None:
        raise NotFound("Schedule not found")
    query = inputs.query
    before = decode_keyed_cursor(query.before) if query.before else None
    rows = await reads.firings(inputs.path.schedule_id, query.limit, before)
    headers = {}
    if len(rows) == query.limit:
        last = rows[-1]
        headers["Link"] = next_link(request, encode_keyed_cursor(last["due_at"], last["robot_id"]))
    return json_reply([dict(r) for r in rows], list[FiringOut], headers=headers)
