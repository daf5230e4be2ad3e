"""Folding commands: requested -> sent -> succeeded | failed | timed_out, or expired. Pure.

The `CommandBook` holds the commands a batch can touch (every open one, plus those its
events name) and the emergency-stop latches it changes. Time is the stream's: before each
event, open commands whose deadline is not after the event's `received_at` time out (any
event moves time on; the clock's ticks keep it moving on a quiet stream). The decision
depends only on the events before it, so a replay reproduces every state and time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tonypi_events import FLEET, EventEnvelope, EventType, decode_payload, kinds

from ..rows import Command, JsonObject, Latch, evolve

_FAILED_STATUSES = frozenset({"error", "failed", "failure"})
_ANSWERS = frozenset({EventType.COMMAND_RESPONSE, EventType.EMERGENCY_STOP_RESPONSE})


def answered_id(payload: dict[str, Any]) -> str | None:
    """The command an answer is about: `id` (what the robot read) or `command_id`. Echoed item
    replies carry neither and are about no command."""
    for key in ("id", "command_id"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value[:128]
    return None


def referenced_id(event: EventEnvelope) -> str | None:
    """The command id an event names, for loading that command's row before the batch."""
    if event.event_type in _ANSWERS or event.event_type is EventType.COMMAND_SENT:
        return answered_id(event.payload)
    return None


def succeeded(payload: dict[str, Any]) -> bool:
    status = payload.get("status")
    status = status.lower() if isinstance(status, str) else ""
    return payload.get("success") is not False and status not in _FAILED_STATUSES


def _answer(payload: dict[str, Any]) -> JsonObject:
    keep = ("success", "message", "status", "data", "timestamp")
    return {k: payload[k] for k in keep if k in payload}


@dataclass
class CommandBook:
    commands: dict[str, Command] = field(default_factory=dict)  # loaded and folded, by id
    latches: dict[str, Latch] = field(default_factory=dict)  # changed in this batch

    def advance(self, at: datetime) -> list[Command]:
        """Finish every open command whose deadline has passed at stream time `at`."""
        done = []
        for command in list(self.commands.values()):
            if command.is_open and command.deadline <= at:
                done.append(self._put(_expire(command)))
        return done

    def fold(self, seq: int, event: EventEnvelope) -> tuple[list[Command], list[Latch]]:
        """The command rows (and latches) this event changed."""
        handler = _HANDLERS.get(event.event_type)
        if handler is None:
            return [], []
        return handler(self, seq, event)

    def _put(self, command: Command) -> Command:
        self.commands[command.command_id] = command
        return command

    # --- handlers -------------------------------------------------------------------

    def _requested(self, seq: int, event: EventEnvelope):
        p: kinds.CommandRequestedV1 = decode_payload(event)  # type: ignore[assignment]
        if p.command_id in self.commands:
            return [], []  # the same id twice: the first one stands
        at = event.received_at
        expired = p.robot_online is False and not p.wait
        command = Command(
            command_id=p.command_id,
            seq=seq,
            robot_id=event.robot_id,
            type=p.type,
            params=dict(p.params),
            state="expired" if expired else "requested",
            wait=p.wait,
            timeout_s=float(p.timeout_s),
            actor=p.actor.model_dump(),
            requested_at=at,
            deadline=at + timedelta(seconds=float(p.timeout_s)),
            updated_at=at,
            finished_at=at if expired else None,
        )
        return [self._put(command)], []

    def _emergency_stop(self, seq: int, event: EventEnvelope):
        p: kinds.EmergencyStopV1 = decode_payload(event)  # type: ignore[assignment]
        at = event.received_at
        rows = []
        if p.command_id not in self.commands:
            params = {"reason": p.reason} if p.reason is not None else {}
            rows.append(
                self._put(
                    Command(
                        command_id=p.command_id,
                        seq=seq,
                        robot_id=event.robot_id,
                        type="emergency_stop" if p.engaged else "resume",
                        params=params,
                        state="requested",
                        wait=False,
                        timeout_s=float(p.timeout_s),
                        actor=p.actor.model_dump(),
                        requested_at=at,
                        deadline=at + timedelta(seconds=float(p.timeout_s)),
                        updated_at=at,
                    )
                )
            )
        latch = Latch(
            robot_id=event.robot_id,
            engaged=p.engaged,
            command_id=p.command_id,
            reason=p.reason,
            actor=p.actor.model_dump(),
            changed_at=at,
            seq=seq,
        )
        self.latches[event.robot_id] = latch
        return rows, [latch]

    def _sent(self, seq: int, event: EventEnvelope):
        p: kinds.CommandSentV1 = decode_payload(event)  # type: ignore[assignment]
        command = self.commands.get(p.command_id)
        if command is None:
            return [], []
        at = event.received_at
        changes: dict[str, Any] = {"sent_count": command.sent_count + 1, "updated_at": at}
        if command.sent_at is None:
            changes["sent_at"] = at
        if command.state == "requested":
            changes["state"] = "sent"
        return [self._put(evolve(command, **changes))], []

    def _answered(self, seq: int, event: EventEnvelope):
        command_id = answered_id(event.payload)
        command = self.commands.get(command_id) if command_id else None
        if command is None or not command.is_open:
            return [], []  # unknown, or already finished (a late or repeated answer)
        at = event.received_at
        answer = {**_answer(event.payload), "robot_id": event.robot_id, "received_at": at.isoformat()}
        if command.robot_id == FLEET:  # every robot answers: collect them until the deadline
            responses = {**(command.response or {}), event.robot_id: answer}
            return [self._put(evolve(command, response=responses, updated_at=at))], []
        state = "succeeded" if succeeded(event.payload) else "failed"
        done = evolve(command, state=state, response=answer, finished_at=at, updated_at=at)
        return [self._put(done)], []


def _expire(command: Command) -> Command:
    """At its deadline: a broadcast ends by its answers, anything else unanswered timed out."""
    state = "timed_out"
    if command.robot_id == FLEET and command.response:
        answers = command.response.values()
        state = "succeeded" if all(succeeded(a) for a in answers) else "failed"
    return evolve(command, state=state, finished_at=command.deadline, updated_at=command.deadline)


_HANDLERS = {
    EventType.COMMAND_REQUESTED: CommandBook._requested,
    EventType.EMERGENCY_STOP: CommandBook._emergency_stop,
    EventType.COMMAND_SENT: CommandBook._sent,
    EventType.COMMAND_RESPONSE: CommandBook._answered,
    EventType.EMERGENCY_STOP_RESPONSE: CommandBook._answered,
}
