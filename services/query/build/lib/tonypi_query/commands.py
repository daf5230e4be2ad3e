"""Commands and the emergency stop over REST: each request is one event on the stream, which
ingest's deliverer hands to the robot and the projector folds into `commands` (docs/commands.md)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web
from tonypi_events import FLEET, EventType, actors, commanding
from tonypi_events.commanding import Plan
from tonypi_events.topics import BROADCAST
from yarl import URL

from .actor import actor_of
from .command_models import CommandAcceptedOut, CommandOut, EmergencyStopOut
from .endpoints import Inputs, json_reply
from .errors import Conflict, NotFound, RequestValidationError
from .handlers import API
from .keys import CHECKPOINT, READS, WRITES
from .pagination import decode_cursor, encode_cursor, next_link
from .writes import WriteResult

# How long the robot has to answer an emergency stop or a resume (stream seconds).
EMERGENCY_STOP_TIMEOUT_S = 10.0
FINAL_STATES = commanding.FINAL_STATES


def command_location(command_id: str) -> str:
    return str(URL(API) / "commands" / command_id)


async def _reply(request: web.Request, command_id: str, result: WriteResult) -> web.Response:
    location = command_location(command_id)
    row = await request.app[READS].command(command_id) if result.applied else None
    if row is None:
        body = CommandAcceptedOut(
            message="Accepted: the command is recorded; poll the Location for its outcome",
            command_id=command_id,
            event_sequence=result.sequence,
            location=location,
        )
        return json_reply(body, CommandAcceptedOut, status=202, headers={"Location": location})
    return json_reply(dict(row), CommandOut, status=201, headers={"Location": location})


async def _robot(request: web.Request, robot_id: str) -> dict[str, Any]:
    row = await request.app[READS].robot(robot_id)
    if row is None:  # reserved ids (`broadcast`, `_fleet`) never get here: the path refuses them
        raise NotFound("Robot not found")
    return dict(row)


def _refuse(why: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["body", "type"], "msg": why, "type": "unsupported_command"}])


def _check_takes(robot: dict[str, Any], command_type: str) -> None:
    """422 for a type the robot's firmware does not take: it would answer "Unknown command"."""
    firmware = robot.get("firmware")
    if not commanding.takes(firmware, command_type):
        takes = ", ".join(sorted(commanding.TAKES[firmware]))
        raise _refuse(
            f"{robot['robot_id']} runs {firmware} firmware, which does not take {command_type!r} "
            f"(it takes: {takes})"
        )


def _command_plan(robots: list[dict[str, Any]], command_type: str) -> dict[str, str] | None:
    """Each robot of the fleet: sent the command, or not (its firmware does not take it)."""
    if not robots:
        return None  # nobody known: the broadcast topic, and whoever answers
    plan = {
        r["robot_id"]: (
            Plan.SEND if commanding.takes(r.get("firmware"), command_type) else Plan.UNSUPPORTED
        ).value
        for r in robots
    }
    if Plan.SEND not in plan.values():
        raise _refuse(f"no robot of the fleet takes {command_type!r}")
    return plan


def _latch_plan(robots: list[dict[str, Any]], engaged: bool) -> dict[str, str] | None:
    """An emergency stop: gen 1 has none and is sent its `stop`; a resume: gen 1 holds
    nothing to release and is sent nothing (docs/commands.md)."""
    if not robots:
        return None
    gen1 = Plan.SEND_STOP if engaged else Plan.UNSUPPORTED
    return {
        r["robot_id"]: (gen1 if r.get("firmware") == commanding.GEN1 else Plan.SEND).value for r in robots
    }


async def _fleet(request: web.Request) -> list[dict[str, Any]]:
    return [
        dict(r) for r in await request.app[READS].active_robots() if r["robot_id"] not in (BROADCAST, FLEET)
    ]


async def _latch(request: web.Request, robot_id: str, engaged: bool, reason: str | None) -> web.Response:
    if not engaged and robot_id != FLEET:
        fleet = await request.app[READS].latch(FLEET)
        if fleet is not None and fleet["engaged"]:
            raise Conflict(
                "The whole fleet is emergency-stopped: resume the fleet (POST /api/robots-db/resume)"
            )
    targets = await _fleet(request) if robot_id == FLEET else [dict(await request.app[READS].robot(robot_id))]
    command_id = str(uuid.uuid4())
    payload = actors.EmergencyStopV2(
        robot_id=robot_id,
        command_id=command_id,
        engaged=engaged,
        reason=reason,
        timeout_s=EMERGENCY_STOP_TIMEOUT_S,
        actor=actor_of(request),
        plan=_latch_plan(targets, engaged),
    )
    result = await request.app[WRITES].append(EventType.EMERGENCY_STOP, robot_id, payload)
    return await _reply(request, command_id, result)


async def _command(request: web.Request, robot: dict[str, Any] | None, body) -> web.Response:
    robot_id = robot["robot_id"] if robot is not None else FLEET
    if body.type == "resume":  # a resume releases the latch: one way to do it
        return await _latch(request, robot_id, engaged=False, reason=None)
    if robot is not None:
        _check_takes(robot, body.type)
        plan, online = {robot_id: Plan.SEND.value}, robot["online"]
    else:
        plan, online = _command_plan(await _fleet(request), body.type), None
    command_id = str(uuid.uuid4())
    payload = actors.CommandRequestedV2(
        robot_id=robot_id,
        command_id=command_id,
        type=body.type,
        params=body.params,
        timeout_s=body.timeout_s,
        wait=body.wait,
        robot_online=online,
        actor=actor_of(request),
        plan=plan,
    )
    result = await request.app[WRITES].append(EventType.COMMAND_REQUESTED, robot_id, payload)
    return await _reply(request, command_id, result)


async def send_command(request: web.Request, inputs: Inputs) -> web.Response:
    robot = await _robot(request, inputs.path.robot_id)
    return await _command(request, robot, inputs.body)


async def broadcast_command(request: web.Request, inputs: Inputs) -> web.Response:
    return await _command(request, None, inputs.body)


async def emergency_stop(request: web.Request, inputs: Inputs) -> web.Response:
    robot = await _robot(request, inputs.path.robot_id)
    reason = inputs.body.reason if inputs.body else None
    return await _latch(request, robot["robot_id"], engaged=True, reason=reason)


async def resume(request: web.Request, inputs: Inputs) -> web.Response:
    robot = await _robot(request, inputs.path.robot_id)
    return await _latch(request, robot["robot_id"], engaged=False, reason=None)


async def fleet_emergency_stop(request: web.Request, inputs: Inputs) -> web.Response:
    return await _latch(request, FLEET, engaged=True, reason=inputs.body.reason if inputs.body else None)


async def fleet_resume(request: web.Request, _: Inputs) -> web.Response:
    return await _latch(request, FLEET, engaged=False, reason=None)


async def get_command(request: web.Request, inputs: Inputs) -> web.Response:
    """The command; with ?wait=N, held until it reaches an outcome or N seconds pass."""
    reads, checkpoint = request.app[READS], request.app[CHECKPOINT]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + inputs.query.wait
    while True:
        seen = checkpoint.latest
        row = await reads.command(inputs.path.command_id)
        remaining = deadline - loop.time()
        if (row is not None and row["state"] in FINAL_STATES) or remaining <= 0:
            break
        await checkpoint.wait_for(seen + 1, remaining)  # the next batch the projector commits
    if row is None:
        raise NotFound("Command not found")
    return json_reply(dict(row), CommandOut)


async def robot_commands(request: web.Request, inputs: Inputs) -> web.Response:
    robot_id, query = inputs.path.robot_id, inputs.query
    if robot_id != FLEET and await request.app[READS].robot(robot_id) is None:
        raise NotFound("Robot not found")
    before = decode_cursor(query.before)[1] if query.before else None
    rows = await request.app[READS].commands(robot_id, query.limit, before)
    headers = {}
    if query.limit and len(rows) == query.limit:
        headers["Link"] = next_link(request, encode_cursor(rows[-1]["requested_at"], rows[-1]["sequence"]))
    return json_reply([dict(r) for r in rows], list[CommandOut], headers=headers)


async def emergency_stops(request: web.Request, _: Inputs) -> web.Response:
    rows = await request.app[READS].latches()
    return json_reply([dict(r) for r in rows], list[EmergencyStopOut])
