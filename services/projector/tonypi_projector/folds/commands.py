"""Folding commands: requested -> sent -> succeeded | failed | partial | timed_out, or expired. Pure.

The `CommandBook` holds the commands a batch can touch (every open one, plus those its
events name) and the emergency-stop latches (loaded when the batch presses or releases
one). Time is the stream's: before each event, open commands whose deadline is not after
the event's `received_at` finish (any event moves time on; the clock's ticks keep it
moving on a quiet stream). The decision depends only on the events before it, so a replay
reproduces every state and time.

A command is settled only by a robot it went to, and only after it was sent: an answer
for a command never sent, or from another robot, is dropped (`AnswerDropped`, counted by
the applier) and changes nothing. Each targeted robot has its own outcome (`outcomes`);
the command's state follows from them (`commanding.overall_state`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tonypi_events import FLEET, EventEnvelope, EventType, decode_payload, kinds
from tonypi_events.commanding import AnswerDropped, CommandState, Outcome, Plan, overall_state

from ..rows import Command, JsonObject, Latch, evolve

_FAILED_STATUSES = frozenset({"error", "failed", "failure"})
_ANSWERS = frozenset({EventType.COMMAND_RESPONSE, EventType.EMERGENCY_STOP_RESPONSE})
_MESSAGE_CHARS = 255


class Verdict(StrEnum):
    """What an answer does to the command it names (the log folds write one line per SETTLES)."""

    SETTLES = "settles"  # sets its robot's outcome
    REPEAT = "repeat"  # its robot already answered (gen 2 answers a stop on both topics)
    LATE = "late"  # the command already finished
    UNKNOWN = "unknown"  # names no command we know
    NO_ID = "no_id"  # names no command (an item echo)
    NOT_SENT = AnswerDropped.NOT_SENT.value
    OTHER_ROBOT = AnswerDropped.OTHER_ROBOT.value


@dataclass(frozen=True)
class Facts:
    """What the book knows about an event before folding it: for the log folds."""

    answer: Verdict | None = None  # an answer's verdict
    was_engaged: bool | None = None  # an emergency_stop event: its id's latch before it


@dataclass(frozen=True)
class Dropped:
    reason: AnswerDropped
    command_id: str
    robot_id: str  # the answer's robot
    command_robot: str


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


def _initial_outcomes(robot_id: str, plan: dict[str, str] | None) -> JsonObject | None:
    """Before any answer: pending for every robot sent something. None: a broadcast from
    before plans existed (its outcomes are its answers, counted at the deadline)."""
    if plan is None:
        return None if robot_id == FLEET else {robot_id: {"outcome": Outcome.PENDING.value}}
    outcomes: JsonObject = {}
    for robot, decided in sorted(plan.items()):
        if decided == Plan.SEND_STOP:
            outcomes[robot] = {"outcome": Outcome.PENDING.value, "via": "stop"}
        elif decided == Plan.SEND:
            outcomes[robot] = {"outcome": Outcome.PENDING.value}
        else:
            outcomes[robot] = {"outcome": Outcome.UNSUPPORTED.value}
    return outcomes


def _pending(outcomes: JsonObject | None) -> bool:
    return outcomes is None or any(o.get("outcome") == Outcome.PENDING for o in outcomes.values())


@dataclass
class CommandBook:
    commands: dict[str, Command] = field(default_factory=dict)  # loaded and folded, by id
    latches: dict[str, Latch] = field(default_factory=dict)  # changed in this batch
    engaged: dict[str, bool] = field(default_factory=dict)  # every latch known: engaged?
    dropped: list[Dropped] = field(default_factory=list)  # answers dropped in this batch

    def advance(self, at: datetime) -> list[Command]:
        """Finish every open command whose deadline has passed at stream time `at`."""
        done = []
        for command in list(self.commands.values()):
            if command.is_open and command.deadline <= at:
                done.append(self._put(_expire(command)))
        return done

    def facts(self, event: EventEnvelope) -> Facts:
        """What the log folds need to know of this event, before it is folded (pure)."""
        if event.event_type in _ANSWERS:
            return Facts(answer=self._judge(event))
        if event.event_type is EventType.EMERGENCY_STOP:
            return Facts(was_engaged=self.engaged.get(event.robot_id, False))
        return Facts()

    def fold(self, seq: int, event: EventEnvelope) -> tuple[list[Command], list[Latch]]:
        """The command rows (and latches) this event changed."""
        handler = _HANDLERS.get(event.event_type)
        if handler is None:
            return [], []
        return handler(self, seq, event)

    def _put(self, command: Command) -> Command:
        self.commands[command.command_id] = command
        return command

    def _judge(self, event: EventEnvelope) -> Verdict:
        command_id = answered_id(event.payload)
        if command_id is None:
            return Verdict.NO_ID
        command = self.commands.get(command_id)
        if command is None:
            return Verdict.UNKNOWN
        if command.sent_at is None:
            return Verdict.NOT_SENT
        robot = event.robot_id
        if command.robot_id != FLEET and robot != command.robot_id:
            return Verdict.OTHER_ROBOT
        mine = (command.outcomes or {}).get(robot)
        answered = (mine is not None and mine.get("outcome") != Outcome.PENDING) or (
            command.robot_id == FLEET and robot in (command.response or {})
        )
        if answered:
            return Verdict.REPEAT
        if not command.is_open:
            return Verdict.LATE
        return Verdict.SETTLES

    # --- handlers -------------------------------------------------------------------

    def _new(self, seq: int, event: EventEnvelope, p, type_: str, params: JsonObject, wait: bool) -> Command:
        at = event.received_at
        expired = getattr(p, "robot_online", None) is False and not wait
        outcomes = None if expired else _initial_outcomes(event.robot_id, p.plan)
        command = Command(
            command_id=p.command_id,
            seq=seq,
            robot_id=event.robot_id,
            type=type_,
            params=params,
            state=CommandState.EXPIRED.value if expired else CommandState.REQUESTED.value,
            wait=wait,
            timeout_s=float(p.timeout_s),
            actor=p.actor.model_dump(),
            requested_at=at,
            deadline=at + timedelta(seconds=float(p.timeout_s)),
            updated_at=at,
            finished_at=at if expired else None,
            outcomes=outcomes,
        )
        if not expired and not _pending(outcomes):  # nothing to send to anyone: done now
            command = evolve(command, state=overall_state(outcomes).value, finished_at=at)
        return command

    def _requested(self, seq: int, event: EventEnvelope):
        p: kinds.CommandRequestedV1 = decode_payload(event)  # type: ignore[assignment]
        if p.command_id in self.commands:
            return [], []  # the same id twice: the first one stands
        return [self._put(self._new(seq, event, p, p.type, dict(p.params), p.wait))], []

    def _emergency_stop(self, seq: int, event: EventEnvelope):
        p: kinds.EmergencyStopV1 = decode_payload(event)  # type: ignore[assignment]
        at = event.received_at
        rows = []
        if p.command_id not in self.commands:
            params = {"reason": p.reason} if p.reason is not None else {}
            type_ = "emergency_stop" if p.engaged else "resume"
            rows.append(self._put(self._new(seq, event, p, type_, params, False)))
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
        self.engaged[event.robot_id] = p.engaged
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
        if command.state == CommandState.REQUESTED:
            changes["state"] = CommandState.SENT.value
        return [self._put(evolve(command, **changes))], []

    def _answered(self, seq: int, event: EventEnvelope):
        verdict = self._judge(event)
        if verdict in (Verdict.NOT_SENT, Verdict.OTHER_ROBOT):
            command = self.commands[answered_id(event.payload)]  # type: ignore[index]
            reason = AnswerDropped(verdict.value)
            self.dropped.append(Dropped(reason, command.command_id, event.robot_id, command.robot_id))
        if verdict is not Verdict.SETTLES:
            return [], []
        command = self.commands[answered_id(event.payload)]  # type: ignore[index]
        at, robot = event.received_at, event.robot_id
        answer = {**_answer(event.payload), "robot_id": robot, "received_at": at.isoformat()}
        ok = succeeded(event.payload)
        fleet = command.robot_id == FLEET
        response = {**(command.response or {}), robot: answer} if fleet else answer
        changes: dict[str, Any] = {"response": response, "updated_at": at}
        if command.outcomes is not None or command.robot_id != FLEET:
            outcomes = dict(command.outcomes or {robot: {"outcome": Outcome.PENDING.value}})
            outcomes[robot] = _robot_outcome(outcomes.get(robot), event.payload, ok)
            changes["outcomes"] = outcomes
            if not _pending(outcomes):
                changes.update(state=overall_state(outcomes).value, finished_at=at)
        return [self._put(evolve(command, **changes))], []


def _robot_outcome(before: JsonObject | None, payload: dict[str, Any], ok: bool) -> JsonObject:
    via = (before or {}).get("via")
    if not ok:
        outcome = Outcome.REFUSED
    elif via == "stop":
        outcome = Outcome.STOPPED  # gen 1 obeyed its stop: not an emergency stop
    else:
        outcome = Outcome.CONFIRMED
    entry: JsonObject = {"outcome": outcome.value}
    if via:
        entry["via"] = via
    message = payload.get("message")
    if isinstance(message, str) and message:
        entry["message"] = message[:_MESSAGE_CHARS]
    return entry


def _expire(command: Command) -> Command:
    """At its deadline: robots that did not answer have no answer; the state follows."""
    if command.outcomes is None and command.robot_id == FLEET:  # a broadcast from before plans
        outcomes = {
            robot: _robot_outcome(None, answer, succeeded(answer))
            for robot, answer in (command.response or {}).items()
        }
    else:
        outcomes = {
            robot: ({"outcome": Outcome.NO_ANSWER.value} if o.get("outcome") == Outcome.PENDING else o)
            for robot, o in (command.outcomes or {command.robot_id: {"outcome": Outcome.PENDING}}).items()
        }
    state = overall_state(outcomes).value
    return evolve(
        command, state=state, outcomes=outcomes, finished_at=command.deadline, updated_at=command.deadline
    )


_HANDLERS = {
    EventType.COMMAND_REQUESTED: CommandBook._requested,
    EventType.EMERGENCY_STOP: CommandBook._emergency_stop,
    EventType.COMMAND_SENT: CommandBook._sent,
    EventType.COMMAND_RESPONSE: CommandBook._answered,
    EventType.EMERGENCY_STOP_RESPONSE: CommandBook._answered,
}
