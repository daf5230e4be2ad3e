"""Jobs dispatched from the API (docs/commands.md): a `start_job` command asked of a robot
is remembered on its row (`pending_start`) until the robot announces the job it started;
that job takes the command's id. The robot reports the job right after taking the command,
so the link holds only until the command's deadline: a job the robot starts on its own
later is not claimed by a command it refused or never got."""

from __future__ import annotations

from datetime import datetime, timedelta

from tonypi_events import kinds

from ..rows import evolve
from .context import FoldContext, RobotState, iso
from .logs import on_command_requested as _log_requested

START_JOB = "start_job"


def on_command_requested(
    ctx: FoldContext, state: RobotState, payload: kinds.CommandRequestedV1
) -> RobotState:
    state = _log_requested(ctx, state, payload)
    expired = payload.robot_online is False and not payload.wait
    if payload.type != START_JOB or expired or state.robot is None:
        return state
    pending = {
        "command_id": payload.command_id,
        "task_name": payload.params.get("task_name"),
        "until": iso(ctx.at + timedelta(seconds=float(payload.timeout_s))),
    }
    return evolve(state, robot=evolve(state.robot, pending_start=pending))


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
