"""Folding one event into one robot's state: pure, no I/O.

`fold_event(state, seq, event, items)` returns the robot's new state and the rows the
event wrote, with its telemetry history samples (`HISTORY_FOLDS`). Handlers are
registered as data, by event type. Alarm rules run after the event's own fold
(`ALARM_RULES`); clock ticks fold into every robot a batch holds (`fold_tick`, `TICK_FOLDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta

from tonypi_events import EventEnvelope, EventType, decode_payload

from ..rows import evolve
from .alarms import ALARM_API_FOLDS, alarm_rules
from .analytics import accrue
from .clock import TICK_FOLDS
from .commands import Facts
from .context import (
    ALARM_IDS_PER_EVENT,
    LOG_IDS_PER_EVENT,
    FoldContext,
    ItemCatalogue,
    Outcome,
    RobotState,
    alarm_ids,
)
from .dispatch import await_job, fanned_out, on_command_requested
from .history import HISTORY_FOLDS
from .jobs import JOB_FOLDS
from .logs import COMMAND_FOLDS, ROBOT_LOG_FOLDS, on_ingest_rejected
from .robots import API_FOLDS, ROBOT_MESSAGE_FOLDS, auto_register, seen
from .schedule_logs import SCHEDULE_LOG_FOLDS
from .tokens import TOKEN_FOLDS

Fold = Callable[[FoldContext, RobotState, object], RobotState]

# Messages robots send: each registers an unknown robot and refreshes last_seen first.
ROBOT_FOLDS: dict[EventType, Fold] = {**ROBOT_MESSAGE_FOLDS, **JOB_FOLDS, **ROBOT_LOG_FOLDS}
# Everything else: operator writes, and ingest's rejections (which register no robot).
OTHER_FOLDS: dict[EventType, Fold] = {
    **API_FOLDS,
    **TOKEN_FOLDS,
    **ALARM_API_FOLDS,
    **COMMAND_FOLDS,
    EventType.COMMAND_REQUESTED: on_command_requested,  # logs it; a start_job awaits its job
    **SCHEDULE_LOG_FOLDS,
    EventType.INGEST_REJECTED: on_ingest_rejected,
}
# The clock is folded by `fold_tick`, into every robot at once.
CLOCK_EVENTS = frozenset({EventType.CLOCK_TICK})
# After the event's own fold: the alarms it moves.
ALARM_RULES: dict[EventType, Fold] = alarm_rules(set(ROBOT_FOLDS))

assert set(ROBOT_FOLDS) | set(OTHER_FOLDS) | CLOCK_EVENTS == set(EventType), "every event type needs a fold"


def _outcome(ctx: FoldContext, state: RobotState) -> Outcome:
    return Outcome(
        state=state,
        jobs=tuple(sorted(ctx.jobs, key=lambda j: j.id)),
        logs=tuple(ctx.logs),
        tokens=tuple(ctx.tokens),
        notes=tuple(ctx.notes),
        alarms=tuple(ctx.alarms),
        transitions=tuple(ctx.transitions),
        analytics=ctx.analytics,
        samples=tuple(ctx.samples),
        refused=tuple(ctx.refused),
    )


def fold_event(
    state: RobotState, seq: int, event: EventEnvelope, items: ItemCatalogue, facts: Facts | None = None
) -> Outcome:
    """Raises for an event that cannot be applied (unknown version, invalid payload, a bug):
    the caller dead-letters it and `state` is unchanged. `facts`: what the command book
    knew before the event (an answer's verdict, a latch), for the folds that log them."""
    if event.event_type in CLOCK_EVENTS:
        raise ValueError("clock ticks fold into every robot: fold_tick, not fold_event")
    payload = decode_payload(event)
    ctx = FoldContext(seq=seq, event=event, items=items, facts=facts or Facts())
    before = state
    sampler = HISTORY_FOLDS.get(event.event_type)
    if sampler is not None:  # on the state before the event: which sensors the robot had
        sampler(ctx, state, payload)
    fold = ROBOT_FOLDS.get(event.event_type)
    robot_event = fold is not None
    if fold is not None:
        status = getattr(payload, "status", None) if event.event_type is EventType.STATUS else None
        if state.robot is None:
            state = auto_register(ctx, state, status or "online")
        else:
            state = evolve(state, robot=seen(ctx, state.robot, says_offline=status == "offline"))
    else:
        fold = OTHER_FOLDS[event.event_type]
    state = fold(ctx, state, payload)
    rule = ALARM_RULES.get(event.event_type)
    if rule is not None:
        state = rule(ctx, state, payload)
    state = accrue(ctx, before, state, robot_event=robot_event)
    return _outcome(ctx, state)


def _online_until(state: RobotState, tick: object) -> datetime | None:
    """A silent robot's last online instant: its last message plus the inactivity timeout."""
    last_seen = state.robot.last_seen if state.robot is not None else None
    if last_seen is None:
        return None
    return last_seen + timedelta(seconds=tick.offline_after_s)  # type: ignore[attr-defined]


def fold_tick(
    states: Iterable[tuple[str, RobotState]],
    seq: int,
    event: EventEnvelope,
    items: ItemCatalogue,
    ids: Iterator[int] | None = None,
    after: str | None = None,
) -> Iterator[tuple[str, RobotState, Outcome]]:
    """A clock tick folded into each robot, in robot-id (code point) order, so alarm ids are
    the same however the stream was cut into batches. Yields only the robots it changed.

    A tick folded in slices (docs/alarms.md, "The offline storm") folds only the robots
    after `after` (the last one an earlier slice folded), with `ids` going on from where
    that slice's stopped: the rows are those of one unsliced fold."""
    tick = decode_payload(event)
    ids = alarm_ids(seq) if ids is None else ids  # one id sequence for the whole event
    for robot_id, state in sorted(states, key=lambda item: item[0]):
        if after is not None and robot_id <= after:
            continue
        ctx = FoldContext(seq=seq, event=event, items=items, ids=ids, for_robot=robot_id)
        new = state
        for fold in TICK_FOLDS:
            new = fold(ctx, new, tick)
        if new is not state:
            new = accrue(ctx, state, new, robot_event=False, online_until=_online_until(state, tick))
        if new is not state:
            yield robot_id, state, _outcome(ctx, new)


def fold_fanout(
    states: Mapping[str, RobotState], seq: int, event: EventEnvelope, items: ItemCatalogue
) -> Iterator[tuple[str, RobotState, Outcome]]:
    """A fleet start_job folded into each robot its plan sends it to (dispatch.fanned_out):
    each awaits its job, to link it to the fleet command. Yields only the robots it changed."""
    robots = fanned_out(event)
    if not robots:
        return
    payload = decode_payload(event)
    for robot_id in robots:
        state = states.get(robot_id, RobotState())
        ctx = FoldContext(seq=seq, event=event, items=items, for_robot=robot_id)
        new = await_job(ctx, state, payload)
        if new is not state:
            yield robot_id, state, _outcome(ctx, new)


__all__ = [
    "ALARM_IDS_PER_EVENT",
    "CLOCK_EVENTS",
    "LOG_IDS_PER_EVENT",
    "ItemCatalogue",
    "Outcome",
    "RobotState",
    "fold_event",
    "fold_fanout",
    "fold_tick",
]
