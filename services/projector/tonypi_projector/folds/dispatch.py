"""Jobs dispatched from the API (docs/commands.md): a `start_job` command asked of a robot
is remembered on its row (`pending_start`) until the robot announces the job it started;
that job takes the command's id. The robot reports the job right after taking the command,
so the link holds only until the command's deadline: a job the robot starts on its own
later is not claimed by a command it refused or never got.

A fleet `start_job` (robot id `_fleet`) is remembered the same way on each robot its plan
sends it to (`fold_fanout` in folds/__init__.py), so each robot's job is linked to the
fleet command."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tonypi_events import FLEET, EventEnvelope, EventType, kinds
from tonypi_events.commanding import Plan

from ..rows import evolve
from .context import FoldContext, RobotState, iso
from .logs import on_command_requested as _log_requested

START_JOB = "start_job"


def on_command_requested(
    ctx: FoldContext, state: RobotState, payload: kinds.CommandRequestedV1
) -> RobotState:
    return await_job(ctx, _log_requested(ctx, state, payload), payload)


def await_job(ctx: FoldContext, state: RobotState, payload: kinds.CommandRequestedV1) -> RobotState:
    """The robot being folded (`ctx.robot_id`) was asked to start a job: remember the command."""
    expired = payload.robot_online is False and not payload.wait  # never sent
    if payload.type != START_JOB or expired or state.robot is None:
        return state
    pending = {
        "command_id": payload.command_id,
        "task_name": payload.params.get("task_name"),
        "until": iso(ctx.at + timedelta(seconds=float(payload.timeout_s))),
    }
    return evolve(state, robot=evolve(state.robot, pending_start=pending))


def fanned_out(event: EventEnvelope) -> tuple[str, ...]:
    """The robots a fleet start_job is sent to (its plan's `send`), each to await its job;
    read from the raw payload, so the applier can load their states before the batch."""
    payload: Mapping[str, Any] = event.payload
    if (
        event.event_type is not EventType.COMMAND_REQUESTED
        or event.robot_id != FLEET
        or payload.get("type") != START_JOB
        or not isinstance(payload.get("plan"), dict)
    ):
        return ()
    return tuple(sorted(r for r, decided in payload["plan"].items() if decided == Plan.SEND.value))


def take_dispatch(
    ctx: FoldContext, state: RobotState, task_name: str | None
) -> tuple[str | None, RobotState]:
    """The start_job command a job the robot now starts answers, if any (and forget it)."""
    robot = state.robot
    pending = robot.pending_start if robot is not None else None
    if not pending:
        return None, state
    if datetime.fromisoformat(pending["until"]) < ctx.at:
        return None, evolve(state, robot=evolve(robot, pending_start=None))
    if pending.get("task_name") != task_name:
        return None, state
    return pending["command_id"], evolve(state, robot=evolve(robot, pending_start=None))
