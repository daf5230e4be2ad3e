"""Folding one event into one robot's state: pure, no I/O.

`fold_event(state, seq, event, items)` returns the robot's new state and the rows the
event wrote. Handlers are registered as data, by event type.
"""

from __future__ import annotations

from collections.abc import Callable

from tonypi_events import EventEnvelope, EventType, decode_payload

from ..rows import evolve
from .context import LOG_IDS_PER_EVENT, FoldContext, ItemCatalogue, Outcome, RobotState
from .jobs import JOB_FOLDS
from .logs import COMMAND_FOLDS, ROBOT_LOG_FOLDS, on_ingest_rejected
from .robots import API_FOLDS, ROBOT_MESSAGE_FOLDS, auto_register, seen
from .tokens import TOKEN_FOLDS

Fold = Callable[[FoldContext, RobotState, object], RobotState]

# Messages robots send: each registers an unknown robot and refreshes last_seen first.
ROBOT_FOLDS: dict[EventType, Fold] = {**ROBOT_MESSAGE_FOLDS, **JOB_FOLDS, **ROBOT_LOG_FOLDS}
# Everything else: operator writes, and ingest's rejections (which register no robot).
OTHER_FOLDS: dict[EventType, Fold] = {
    **API_FOLDS,
    **TOKEN_FOLDS,
    **COMMAND_FOLDS,
    EventType.INGEST_REJECTED: on_ingest_rejected,
}

assert set(ROBOT_FOLDS) | set(OTHER_FOLDS) == set(EventType), "every event type needs a fold"


def fold_event(state: RobotState, seq: int, event: EventEnvelope, items: ItemCatalogue) -> Outcome:
    """Raises for an event that cannot be applied (unknown version, invalid payload, a bug):
    the caller dead-letters it and `state` is unchanged."""
    payload = decode_payload(event)
    ctx = FoldContext(seq=seq, event=event, items=items)
    fold = ROBOT_FOLDS.get(event.event_type)
    if fold is not None:
        if state.robot is None:
            status = getattr(payload, "status", None) if event.event_type is EventType.STATUS else None
            state = auto_register(ctx, state, status or "online")
        else:
            state = evolve(state, robot=seen(ctx, state.robot))
    else:
        fold = OTHER_FOLDS[event.event_type]
    state = fold(ctx, state, payload)
    return Outcome(
        state=state,
        jobs=tuple(sorted(ctx.jobs, key=lambda j: j.id)),
        logs=tuple(ctx.logs),
        tokens=tuple(ctx.tokens),
        notes=tuple(ctx.notes),
    )


__all__ = ["LOG_IDS_PER_EVENT", "ItemCatalogue", "Outcome", "RobotState", "fold_event"]
