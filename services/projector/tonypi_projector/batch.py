"""Folding a batch of events in memory: pure, no I/O.

The store loads the state of every robot the batch touches, `fold_batch` folds the
events in stream order, and the store writes what changed once: ten sensor readings
of one robot in a batch cost one row update (last value wins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tonypi_events import EventEnvelope

from .folds import ItemCatalogue, RobotState, fold_event
from .rows import Job, LogEntry, Robot, TokenChange


@dataclass(frozen=True)
class StreamEvent:
    """One message read from the stream: its sequence, raw bytes and, if they decoded, the envelope."""

    seq: int
    raw: bytes
    event: EventEnvelope | None
    error: str | None = None  # why the bytes did not decode


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    raw: bytes
    error: str
    event: EventEnvelope | None = None


@dataclass
class BatchChanges:
    robots: dict[str, Robot] = field(default_factory=dict)  # by robot_id: the final row
    jobs: dict[int, Job] = field(default_factory=dict)  # by id: the final row
    logs: list[LogEntry] = field(default_factory=list)
    tokens: list[TokenChange] = field(default_factory=list)  # in stream order
    dead_letters: list[DeadLetter] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)  # events applied, by type

    def sorted_jobs(self) -> list[Job]:
        # Ascending ids: an ended job (older) is written before the one that replaced it,
        # so the one-active-job-per-robot index never sees two at once.
        return [self.jobs[i] for i in sorted(self.jobs)]


def fold_batch(
    states: dict[str, RobotState], events: list[StreamEvent], items: ItemCatalogue
) -> BatchChanges:
    """Fold `events` over `states` (updated in place, keyed by robot id). An event that
    fails to fold is dead-lettered and leaves its robot's state as it was."""
    changes = BatchChanges()
    for item in events:
        if item.event is None:
            changes.dead_letters.append(DeadLetter(item.seq, item.raw, item.error or "undecodable"))
            continue
        event = item.event
        before = states.get(event.robot_id, RobotState())
        try:
            outcome = fold_event(before, item.seq, event, items)
        except Exception as exc:  # a poison event must not stop the stream
            changes.dead_letters.append(DeadLetter(item.seq, item.raw, f"{type(exc).__name__}: {exc}", event))
            continue
        states[event.robot_id] = outcome.state
        if outcome.state.robot is not None and outcome.state.robot is not before.robot:
            changes.robots[event.robot_id] = outcome.state.robot
        for job in outcome.jobs:
            changes.jobs[job.id] = job
        changes.logs.extend(outcome.logs)
        changes.tokens.extend(outcome.tokens)
        changes.applied[event.event_type.value] = changes.applied.get(event.event_type.value, 0) + 1
    return changes
