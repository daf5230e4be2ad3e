"""Applying batches of stream events to the read tables, a transaction at a time.

Shared by the live projector and `tonypi replay`. A transaction's rows, its dead letters
and the checkpoint commit together or not at all, so each event takes effect exactly
once whatever crashes. Events at or below the checkpoint are skipped.

Clock ticks are applied alone, each in slices of the robots they find silent
(tick_slices.py); the events between them as below.

A run of events is first applied whole (the fast path: one statement per table). If that fails
on something one event caused (`event_fault`: a value PostgreSQL refuses, a limit it
enforces, an error encoding a value), the same transaction is retried event by event,
each under a savepoint: the event that fails again is dead-lettered, the others are
applied, and the checkpoint still commits with them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from tonypi_events import EventType
from tonypi_events.authority import SUBJECT_MISMATCH
from tonypi_events.commanding import AnswerDropped
from tonypi_runtime.logs import Throttled
from tonypi_runtime.text import escape_text

from . import metrics, store, tick_slices
from .batch import BatchChanges, DeadLetter, StreamEvent, fold_batch
from .faults import ERROR_LOG_CHARS, TABLES_LOCK_KEY, describe, event_fault
from .folds import CLOCK_EVENTS, ItemCatalogue, RobotState
from .folds.commands import referenced_id
from .folds.dispatch import fanned_out
from .folds.schedules import ScheduleBook, referenced_schedule
from .history_store import HistoryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    last_seq: int
    events: int  # new events in the batch (applied or dead-lettered)
    lost: int  # sequences missing before them: dropped by retention


_DROP_WHY = {
    AnswerDropped.NOT_SENT: "the command was never sent",
    AnswerDropped.OTHER_ROBOT: "the command did not go to that robot",
}


def _presses(events: list[StreamEvent]) -> bool:
    """Whether any event presses or releases an emergency stop (its fold reads the latches)."""
    return any(e.event is not None and e.event.event_type is EventType.EMERGENCY_STOP for e in events)


def find_gaps(events: list[StreamEvent], checkpoint: int) -> int:
    """Sequences that should have come between the checkpoint and these events and did not."""
    lost, expected = 0, checkpoint + 1
    for event in events:
        if event.seq > expected:
            lost += event.seq - expected
        expected = event.seq + 1
    return lost


def _robots_touched(events: list[StreamEvent]) -> list[str]:
    """The robots whose state a run of events needs: those its events name (a clock tick is
    applied alone, by tick_slices.py, which finds the robots it may change)."""
    robot_ids: set[str] = set()
    for e in events:
        if e.event is None or e.event.event_type in CLOCK_EVENTS:  # an undecodable tick
            continue
        robot_ids.add(e.event.robot_id)
        if e.event.event_type is EventType.JOB_SCHEDULED:  # may fire within the batch
            robot_ids.update(r for r in e.event.payload.get("robot_ids") or () if isinstance(r, str))
        robot_ids.update(fanned_out(e.event))  # a fleet start_job: each robot awaits its job
    return sorted(robot_ids)


# Robot states a replay keeps between batches: memory bounded whatever the fleet's size.
CACHE_ROBOTS = 20_000


class BatchApplier:
    def __init__(
        self,
        stream: str,
        items: ItemCatalogue,
        *,
        live: bool = True,
        cache: dict[str, RobotState] | None = None,
        feed_retention_s: float | None = None,
        tick_slice: int = 500,
        cache_robots: int = CACHE_ROBOTS,
        history: HistoryPolicy | None = None,
    ) -> None:
        # live: take the tables lock, notify the query service and feed the metrics.
        # cache: robot states kept between batches, for a sole writer (a replay's staging
        # tables). The live projector reads them afresh in each batch's transaction instead,
        # so a replay swapping tables in under it can never meet a stale copy.
        self.stream, self.items, self.live, self.cache = stream, items, live, cache
        # A replay writes only the live feed's retention window (the live projector writes
        # every record, and retention prunes them): a year's replay makes no year of feed.
        self.feed_retention_s = feed_retention_s
        self.tick_slice = tick_slice  # silent robots per transaction (tick_slices.py)
        self.cache_robots = cache_robots
        # Telemetry history (docs/history.md): written with each batch, unless disabled.
        self.history = history if history is not None else HistoryPolicy()
        self._dead_letter_log = Throttled(log, 10.0)
        self._dropped_log = Throttled(log, 60.0)
        self._refused_log = Throttled(log, 60.0)

    def feed_since(self) -> datetime | None:
        if self.live or self.feed_retention_s is None:
            return None
        return datetime.now(UTC) - timedelta(seconds=self.feed_retention_s)

    async def apply(
        self,
        conn: asyncpg.Connection,
        events: list[StreamEvent],
        checkpoint: int,
        stop: asyncio.Event | None = None,
    ) -> Applied:
        """Apply `events` past `checkpoint`: each run of events between clock ticks in one
        transaction, each tick alone and in slices (tick_slices.py). With `stop` set
        part-way through a tick, returns with the checkpoint before it."""
        fresh = [e for e in events if e.seq > checkpoint]
        if not fresh:
            return Applied(checkpoint, 0, 0)
        lost = find_gaps(fresh, checkpoint)
        if lost:
            log.error(
                "%d events between sequence %d and %d are gone from stream %s (retention dropped them "
                "before they were applied); continuing from %d",
                lost,
                checkpoint + 1,
                fresh[-1].seq,
                self.stream,
                fresh[0].seq,
            )
            if self.live:
                metrics.EVENTS_LOST.inc(lost)
        position = checkpoint
        for run in tick_slices.runs(fresh):
            if tick_slices.is_tick(run[0]):
                position = await tick_slices.apply_tick(self, conn, run[0], position, stop)
                if position < run[0].seq:  # stopped part-way
                    break
            else:
                position = await self._apply_run(conn, run, position)
        return Applied(position, sum(e.seq <= position for e in fresh), lost)

    async def _apply_run(self, conn: asyncpg.Connection, events: list[StreamEvent], checkpoint: int) -> int:
        started = time.perf_counter()
        try:
            changes = await self._commit(conn, events, checkpoint)
        except Exception as exc:
            if not event_fault(exc):
                raise
            log.warning(
                "batch %d..%d failed (%s); applying its events one by one to find the one at fault",
                events[0].seq,
                events[-1].seq,
                escape_text(describe(exc), ERROR_LOG_CHARS),
            )
            changes = await self._commit_each(conn, events, checkpoint)
        if self.live:
            self.observe(changes, len(events), time.perf_counter() - started, events[-1].seq)
        return events[-1].seq

    async def _commit(
        self, conn: asyncpg.Connection, events: list[StreamEvent], checkpoint: int
    ) -> BatchChanges:
        async with conn.transaction():
            if self.live:
                await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", TABLES_LOCK_KEY)
            states = await self.load_states(conn, _robots_touched(events))
            named = sorted({c for e in events if e.event is not None and (c := referenced_id(e.event))})
            book = await store.load_commands(conn, named, latches=_presses(events))
            schedules = await self.load_schedules(conn, events)
            feed_since = self.feed_since()
            changes = fold_batch(states, events, self.items, book, feed_since, schedules)
            await store.write_batch(
                conn,
                changes,
                stream=self.stream,
                expected_seq=checkpoint,
                last_seq=events[-1].seq,
                notify=self.live,
                feed_since=feed_since,
                history=self.history,
            )
        self.remember(states)
        return changes

    @staticmethod
    async def load_schedules(conn: asyncpg.Connection, events: list[StreamEvent]) -> ScheduleBook:
        named = {s for e in events if e.event is not None and (s := referenced_schedule(e.event))}
        commands = {
            c
            for e in events
            if e.event is not None
            and e.event.event_type is EventType.COMMAND_REQUESTED
            and isinstance(c := e.event.payload.get("command_id"), str)
        }
        return await store.load_schedules(conn, sorted(named), sorted(commands))

    def remember(self, states: dict[str, RobotState]) -> None:
        """Keep committed robot states for the next batches (a replay's cache), at most
        `cache_robots` of them: a full cache is emptied (what it held is in the tables)."""
        if self.cache is None:
            return
        if len(self.cache) + len(states) > self.cache_robots:
            self.cache.clear()
        self.cache.update(states)

    async def load_states(self, conn: asyncpg.Connection, robot_ids: list[str]) -> dict[str, RobotState]:
        if self.cache is None:
            return await store.load_states(conn, robot_ids)
        missing = [r for r in robot_ids if r not in self.cache]
        loaded = await store.load_states(conn, missing) if missing else {}
        return {r: self.cache.get(r) or loaded.get(r) or RobotState() for r in robot_ids}

    async def _commit_each(
        self, conn: asyncpg.Connection, events: list[StreamEvent], checkpoint: int
    ) -> BatchChanges:
        """One transaction, each event under its own savepoint: an event that fails is rolled
        back to its savepoint and dead-lettered, its robot's state stays as it was, and the
        checkpoint moves past the whole batch. Each event loads what it reads inside its
        savepoint, so it sees what the events before it wrote."""
        total = BatchChanges()
        states: dict[str, RobotState] = {}
        async with conn.transaction():
            if self.live:
                await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", TABLES_LOCK_KEY)
            for item in events:
                mine: dict[str, RobotState] = {}
                try:
                    async with conn.transaction():  # a savepoint
                        touched = _robots_touched([item]) if item.event is not None else []
                        missing = [r for r in touched if r not in states]
                        loaded = await self.load_states(conn, missing) if missing else {}
                        for robot_id in touched:
                            mine[robot_id] = states.get(robot_id) or loaded.get(robot_id) or RobotState()
                        named = referenced_id(item.event) if item.event is not None else None
                        book = await store.load_commands(
                            conn, [named] if named else [], latches=_presses([item])
                        )
                        schedules = await self.load_schedules(conn, [item])
                        changes = fold_batch(mine, [item], self.items, book, None, schedules)
                        await store.write_rows(
                            conn, changes, feed_since=self.feed_since(), history=self.history
                        )
                except Exception as exc:
                    if not event_fault(exc):
                        raise
                    changes = BatchChanges(
                        dead_letters=[DeadLetter(item.seq, item.raw, describe(exc), item.event)]
                    )
                    await store.write_dead_letters(conn, changes.dead_letters)
                else:
                    states.update(mine)
                total.dead_letters.extend(changes.dead_letters)
                for event_type, n in changes.applied.items():
                    total.applied[event_type] = total.applied.get(event_type, 0) + n
                for reason, n in changes.without_effect.items():
                    total.without_effect[reason] = total.without_effect.get(reason, 0) + n
                total.answers_dropped.extend(changes.answers_dropped)
                total.refused_samples.extend(changes.refused_samples)
            await store.advance_checkpoint(
                conn, stream=self.stream, expected_seq=checkpoint, last_seq=events[-1].seq, notify=self.live
            )
        self.remember(states)
        return total

    def observe(self, changes: BatchChanges, size: int, seconds: float, last_seq: int) -> None:
        """Metrics and throttled logs of one committed transaction (`size`: events it applied)."""
        for event_type, n in changes.applied.items():
            metrics.EVENTS_APPLIED.labels(event_type).inc(n)
        for reason, n in changes.without_effect.items():
            metrics.WITHOUT_EFFECT.labels(reason).inc(n)
        for dropped in changes.answers_dropped:
            metrics.ANSWERS_DROPPED.labels(dropped.reason.value).inc()
            self._dropped_log.warning(
                f"answer-{dropped.reason.value}",
                "answer from %s for command %s (of %s) dropped: %s",
                dropped.robot_id,
                dropped.command_id,
                dropped.command_robot,
                _DROP_WHY[dropped.reason],
            )
        for dead in changes.dead_letters:
            self._dead_letter_log.error(
                "dead-letter",
                "dead-lettered event at sequence %d: %s (`tonypi projector dead-letters` lists them)",
                dead.seq,
                escape_text(dead.error, ERROR_LOG_CHARS),
            )
        for reason, detail in changes.refused_samples:
            metrics.HISTORY_REFUSED.labels(reason).inc()
            self._refused_log.warning(
                f"history-{reason}", "reading kept out of the telemetry history: %s", escape_text(detail, 200)
            )
        metrics.HISTORY_SAMPLES.inc(len(changes.samples) if self.history.enabled else 0)
        metrics.DEAD_LETTERS.inc(len(changes.dead_letters))
        metrics.SUBJECT_MISMATCHES.inc(
            sum(d.error.startswith(SUBJECT_MISMATCH) for d in changes.dead_letters)
        )
        for firing in changes.firings.values():
            metrics.SCHEDULE_FIRINGS.labels(firing.state).inc()
        if size:
            metrics.BATCH_SIZE.observe(size)
        metrics.BATCH_APPLY_SECONDS.observe(seconds)
        metrics.CHECKPOINT_SEQUENCE.set(last_seq)
