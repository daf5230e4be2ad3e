"""Folding a batch of events in memory: pure, no I/O.

The store loads the state of every robot the batch touches (and the commands it can touch),
`fold_batch` folds the events in stream order, and the store writes what changed once: ten
sensor readings of one robot in a batch cost one row update (last value wins). Each applied
event also leaves one live-feed record (feed.py).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from tonypi_events import EventEnvelope

from . import feed
from .counters import counter_deltas
from .folds import CLOCK_EVENTS, ItemCatalogue, Outcome, RobotState, fold_event, fold_fanout, fold_tick
from .folds.analytics import Analytics
from .folds.commands import CommandBook, Dropped
from .folds.schedules import ScheduleBook
from .rows import (
    Alarm,
    AlarmTransition,
    Command,
    Firing,
    Job,
    Latch,
    LogEntry,
    Robot,
    Sample,
    Schedule,
    TokenChange,
)


@dataclass(frozen=True)
class StreamEvent:
    """One message read from the stream: its sequence, raw bytes and, if they decoded and its
    subject vouches for them (tonypi_events.authority), the envelope to apply."""

    seq: int
    raw: bytes
    event: EventEnvelope | None
    error: str | None = None  # why there is no event to apply
    claimed: EventEnvelope | None = None  # decoded but refused: what it claimed, for the record


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    raw: bytes
    error: str
    event: EventEnvelope | None = None


@dataclass(frozen=True)
class TickSlice:
    """One slice of a clock tick folded in slices (a batch holding that tick alone): the
    robots after `after` in code point order (None: from the first), alarm ids from
    `first_id`. Only the `final` slice fires the tick's schedules."""

    after: str | None
    first_id: int
    final: bool


@dataclass
class BatchChanges:
    robots: dict[str, Robot] = field(default_factory=dict)  # by robot_id: the final row
    jobs: dict[int, Job] = field(default_factory=dict)  # by id: the final row
    logs: list[LogEntry] = field(default_factory=list)
    tokens: list[TokenChange] = field(default_factory=list)  # in stream order
    commands: dict[str, Command] = field(default_factory=dict)  # by id: the final row
    latches: dict[str, Latch] = field(default_factory=dict)  # by robot id: the final row
    feed: list[feed.FeedEntry] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)  # events applied, by type
    alarms: dict[int, Alarm] = field(default_factory=dict)  # by id: the final row
    transitions: list[AlarmTransition] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)  # deltas for projection_counters
    without_effect: dict[str, int] = field(default_factory=dict)  # FoldContext.note, by reason
    answers_dropped: list[Dropped] = field(default_factory=list)  # answers that settled nothing
    schedules: dict[str, Schedule] = field(default_factory=dict)  # by id: the final row
    firings: dict[str, Firing] = field(default_factory=dict)  # by command id: the final row
    next_alarm_id: int | None = None  # a tick slice's: where the next slice's ids go on
    analytics: Analytics = field(default_factory=Analytics)  # deltas (folds/analytics.py)
    samples: list[Sample] = field(default_factory=list)  # telemetry history, in stream order
    refused_samples: list[tuple[str, str]] = field(default_factory=list)  # (reason, detail)

    def sorted_jobs(self) -> list[Job]:
        # Ascending ids: an ended job (older) is written before the one that replaced it,
        # so the one-active-job-per-robot index never sees two at once.
        return [self.jobs[i] for i in sorted(self.jobs)]


def _record(changes: BatchChanges, robot_id: str, before: RobotState, outcome: Outcome) -> Robot | None:
    """Keep what one robot's fold wrote; the robot row if it changed."""
    robot = outcome.state.robot if outcome.state.robot is not before.robot else None
    if robot is not None:
        changes.robots[robot_id] = robot
    for job in outcome.jobs:
        changes.jobs[job.id] = job
    changes.logs.extend(outcome.logs)
    changes.tokens.extend(outcome.tokens)
    for reason in outcome.notes:
        changes.without_effect[reason] = changes.without_effect.get(reason, 0) + 1
    for alarm in outcome.alarms:
        changes.alarms[alarm.id] = alarm
    changes.transitions.extend(outcome.transitions)
    if outcome.analytics is not None:
        changes.analytics.merge(outcome.analytics)
    changes.samples.extend(outcome.samples)
    changes.refused_samples.extend(outcome.refused)
    return robot


def states_after(
    states: dict[str, RobotState], folded: list[tuple[str, RobotState, Outcome]]
) -> dict[str, RobotState]:
    """`states` as the event left them (before they are committed to `states` itself)."""
    if not folded:
        return states
    return {**states, **{robot_id: outcome.state for robot_id, _, outcome in folded}}


def fold_batch(
    states: dict[str, RobotState],
    events: list[StreamEvent],
    items: ItemCatalogue,
    book: CommandBook | None = None,
    feed_since: datetime | None = None,
    schedules: ScheduleBook | None = None,
    tick: TickSlice | None = None,
) -> BatchChanges:
    """Fold `events` over `states` (updated in place, keyed by robot id), `book` and
    `schedules`. An event that fails to fold is dead-lettered and leaves every state as it
    was. A clock tick folds into every robot in `states`: the caller loads those it may
    change (and the robots of the schedules it may fire). `tick`: `events` is one clock
    tick, and this is one slice of it."""
    changes = BatchChanges()
    ids = itertools.count(tick.first_id) if tick is not None else None  # a slice's alarm ids
    book = book if book is not None else CommandBook()
    schedules = schedules if schedules is not None else ScheduleBook()
    initial = dict(states)
    for item in events:
        if item.event is None:
            changes.dead_letters.append(
                DeadLetter(item.seq, item.raw, item.error or "undecodable", item.claimed)
            )
            continue
        event = item.event
        # Stream time moved to this event: commands past their deadline finish first.
        timed_out = book.advance(event.received_at)
        for command in timed_out:
            changes.commands[command.command_id] = command
        try:
            if event.event_type in CLOCK_EVENTS:
                after = tick.after if tick is not None else None
                folded = list(fold_tick(states.items(), item.seq, event, items, ids, after))
            else:
                before = states.get(event.robot_id, RobotState())
                facts = book.facts(event)  # what the command book knew before this event
                folded = [(event.robot_id, before, fold_event(before, item.seq, event, items, facts))]
                folded += fold_fanout(states, item.seq, event, items)  # a fleet start_job's robots
            commands, latches = book.fold(item.seq, event)
            # After the robots' own folds: a tick fires schedules on the robots' state at it.
            ticked = event.event_type in CLOCK_EVENTS
            robots = states_after(states, folded) if ticked else states
            if tick is None or tick.final:
                changed_schedules, firings = schedules.fold(item.seq, event, robots)
            else:
                changed_schedules, firings = [], []
        except Exception as exc:  # a poison event must not stop the stream
            changes.dead_letters.append(DeadLetter(item.seq, item.raw, f"{type(exc).__name__}: {exc}", event))
            continue
        fed = feed_since is None or event.received_at >= feed_since  # a replay skips old records
        robot = None
        rows: dict[str, list] = {}
        for robot_id, before, outcome in folded:
            states[robot_id] = outcome.state
            changed = _record(changes, robot_id, before, outcome)
            if robot_id == event.robot_id:
                robot = changed
            if fed:
                for table, written in feed.outcome_rows(outcome).items():
                    rows.setdefault(table, []).extend(written)  # a tick folds many robots
        for command in commands:
            changes.commands[command.command_id] = command
        for latch in latches:
            changes.latches[latch.robot_id] = latch
        for schedule in changed_schedules:
            changes.schedules[schedule.schedule_id] = schedule
        for firing in firings:
            changes.firings[firing.command_id] = firing
        if fed:
            rows.update(commands=[*timed_out, *commands], latches=list(latches))
            record = feed.entry(item.seq, event, robot, rows, len(item.raw))
            if record is not None:
                changes.feed.append(record)
        changes.applied[event.event_type.value] = changes.applied.get(event.event_type.value, 0) + 1
    if ids is not None:
        changes.next_alarm_id = next(ids)
    changes.counters = counter_deltas(initial, states, changes.jobs)
    changes.answers_dropped = list(book.dropped)
    return changes
