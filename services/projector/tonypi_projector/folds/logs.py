"""Folds that only write system_logs lines: command answers, the robots' own log lines,
and messages ingest rejected."""

from __future__ import annotations

from tonypi_events import FLEET, EventType, kinds
from tonypi_events.codec import parse_robot_timestamp

from .commands import Verdict, answered_id
from .context import FoldContext, RobotState, without_none

UNATTRIBUTED = "_unattributed"
_FAILED_STATUSES = frozenset({"error", "failed", "failure"})
ITEM_ECHO = "item_echo"
# An answer that settled nothing a line would report: its robot already answered (gen 2
# answers an emergency stop on both answer topics), or the command had finished.
ANSWER_REPEAT = "command_answer_repeat"
# Dropped answers (never sent, another robot's command): counted and logged by the applier.
_SILENT = {Verdict.REPEAT: ANSWER_REPEAT, Verdict.LATE: ANSWER_REPEAT}
_DROPPED = frozenset({Verdict.NOT_SENT, Verdict.OTHER_ROBOT})


def is_item_echo(payload: dict) -> bool:
    """Both generations echo every item reply on tonypi/commands/response:
    `{"robot_id", "timestamp", "success": <found>, "item": <item or null>, "message": ...}`,
    with no command id (docs/contract/semantics.md). Every command we send has an id, so
    an answer naming none (`answered_id`) that carries `item` answers no command."""
    return answered_id(payload) is None and "item" in payload


def _answer(what: str):
    def fold(ctx: FoldContext, state: RobotState, payload: kinds.CommandResponseV1) -> RobotState:
        if is_item_echo(ctx.event.payload):
            ctx.note(ITEM_ECHO)  # not a command outcome: no log line, counted
            return state
        verdict = ctx.facts.answer if ctx.facts is not None else None
        if verdict in _SILENT:  # one line per answer, whichever topics it came on
            ctx.note(_SILENT[verdict])
            return state
        if verdict in _DROPPED:
            return state
        ok = payload.success is not False and (payload.status or "").lower() not in _FAILED_STATUSES
        outcome = "succeeded" if ok else "failed"
        command_id = answered_id(ctx.event.payload)
        message = f"{what} {command_id or '(no id)'} {outcome} on {ctx.robot_id}"
        if payload.message:
            message += f": {payload.message}"
        details = without_none(
            {
                "command_id": command_id,
                "success": payload.success,
                "status": payload.status,
                "message": payload.message,
                "data": payload.data,
            }
        )
        ctx.log("INFO" if ok else "WARNING", "command", message, details)
        return state

    fold.__name__ = f"on_{what.lower().replace(' ', '_')}_response"
    return fold


on_command_response = _answer("Command")
on_emergency_stop_response = _answer("Emergency stop")


def on_robot_log(ctx: FoldContext, state: RobotState, payload: kinds.LogV1) -> RobotState:
    category = f"robot_{payload.source or 'unknown'}"
    # The robot's time in the one form every robot time takes (UTC, offset written out);
    # text that is no time at all is kept as sent, so the line still says what it claimed.
    claimed = parse_robot_timestamp(payload.timestamp)
    details = without_none({"robot_timestamp": claimed.isoformat() if claimed else payload.timestamp})
    ctx.log(payload.level.upper(), category, payload.message, details or None)
    return state


def on_ingest_rejected(ctx: FoldContext, state: RobotState, payload: kinds.IngestRejectedV1) -> RobotState:
    details = without_none(
        {
            "reason": payload.reason,
            "detail": payload.detail,
            "topic": payload.topic,
            "size": payload.size,
            "dead_letter_subject": payload.dead_letter_subject,
        }
    )
    ctx.log(
        "WARNING",
        "ingest",
        f"Rejected message on {payload.topic}: {payload.reason}: {payload.detail}",
        details,
        about_robot=ctx.robot_id != UNATTRIBUTED,
    )
    return state


def _who(actor: kinds.Actor) -> str:
    return f"{actor.name} ({actor.role})" if actor.role else actor.name


def on_command_requested(
    ctx: FoldContext, state: RobotState, payload: kinds.CommandRequestedV1
) -> RobotState:
    target = "every robot" if ctx.robot_id == FLEET else ctx.robot_id
    details = {"command_id": payload.command_id, "type": payload.type, "actor": payload.actor.model_dump()}
    if payload.robot_online is False and not payload.wait:
        details["expired"] = "robot offline"
    ctx.log(
        "INFO",
        "command",
        f"Command {payload.command_id} ({payload.type}) for {target} requested by {_who(payload.actor)}",
        details,
        about_robot=ctx.robot_id != FLEET,
    )
    return state


def on_emergency_stop(ctx: FoldContext, state: RobotState, payload: kinds.EmergencyStopV1) -> RobotState:
    target = "the whole fleet" if ctx.robot_id == FLEET else ctx.robot_id
    was_engaged = ctx.facts.was_engaged if ctx.facts is not None else None
    if payload.engaged:
        message = f"Emergency stop engaged for {target} by {_who(payload.actor)}"
        if payload.reason:
            message += f": {payload.reason}"
    elif was_engaged is False:
        message = f"Resume for {target} by {_who(payload.actor)}: no emergency stop was latched"
    else:
        message = f"Emergency stop released (resume) for {target} by {_who(payload.actor)}"
    details = without_none(
        {
            "command_id": payload.command_id,
            "engaged": payload.engaged,
            "reason": payload.reason,
            "actor": payload.actor.model_dump(),
        }
    )
    ctx.log(
        "ERROR" if payload.engaged else ("INFO" if was_engaged is False else "WARNING"),
        "emergency_stop",
        message,
        details,
        about_robot=ctx.robot_id != FLEET,
    )
    return state


def on_command_sent(ctx: FoldContext, state: RobotState, payload: kinds.CommandSentV1) -> RobotState:
    if payload.resend:  # the first send shows in the command's state; a resend is worth a line
        ctx.log(
            "WARNING",
            "emergency_stop",
            f"Emergency stop {payload.command_id} re-sent to {payload.to_robot or ctx.robot_id}: "
            "it came back without it",
            {"command_id": payload.command_id, "topic": payload.topic},
            about_robot=ctx.robot_id != FLEET,
        )
    return state


COMMAND_FOLDS = {
    EventType.COMMAND_REQUESTED: on_command_requested,
    EventType.EMERGENCY_STOP: on_emergency_stop,
    EventType.COMMAND_SENT: on_command_sent,
}

ROBOT_LOG_FOLDS = {
    EventType.COMMAND_RESPONSE: on_command_response,
    EventType.EMERGENCY_STOP_RESPONSE: on_emergency_stop_response,
    EventType.LOG: on_robot_log,
}
