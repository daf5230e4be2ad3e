"""Commands and the emergency stop over REST: each request is one event on the stream, which
ingest's deliverer hands to the robot and the projector folds into `commands` (docs/commands.md)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from aiohttp import web
from tonypi_events import FLEET, EventType, actors
from yarl import URL

from .actor import actor_of
from .command_models import CommandAcceptedOut, CommandOut, EmergencyStopOut
from .endpoints import Inputs, json_reply
from .errors import Conflict, NotFound
from .handlers import API
from .keys import CHECKPOINT, READS, WRITES
from .pagination import decode_cursor, encode_cursor, next_link
from .writes import WriteResult

# How long the robot has to answer an emergency stop or a resume (stream seconds).
EMERGENCY_STOP_TIMEOUT_S = 10.0
FINAL_STATES = frozenset({"succeeded", "failed", "timed_out", "expired"})


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


async def _latch(request: web.Request, robot_id: str, engaged: bool, reason: str | None) -> web.Response:
    if not engaged and robot_id != FLEET:
        fleet = await request.app[READS].latch(FLEET)
        if fleet is not None and fleet["engaged"]:
            raise Conflict(
                "The whole fleet is emergency-stopped: resume the fleet (POST /api/robots-db/resume)"
            )
    command_id = str(uuid.uuid4())
    payload = actors.EmergencyStopV2(
        robot_id=robot_id,
        command_id=command_id,
        engaged=engaged,
        reason=reason,
        timeout_s=EMERGENCY_STOP_TIMEOUT_S,
        actor=actor_of(request),
    )
    result = await request.app[WRITES].append(EventType.EMERGENCY_STOP, robot_id, payload)
    return await _reply(request, command_id, result)


async def _command(request: web.Request, robot_id: str, online: bool | None, body) -> web.Response:
    if body.type == "resume":  # a resume releases the latch: one way to do it
        return await _latch(request, robot_id, engaged=False, reason=None)
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
    )
    result = await request.app[WRITES].append(EventType.COMMAND_REQUESTED, robot_id, payload)
    return await _reply(request, command_id, result)


async def send_command(request: web.Request, inputs: Inputs) -> web.Response:
    robot = await _robot(request, inputs.path.robot_id)
    return await _command(request, robot["robot_id"], robot["online"], inputs.body)


async def broadcast_command(request: web.Request, inputs: Inputs) -> web.Response:
    return await _command(request, FLEET, None, inputs.body)


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
