"""Applying a batch of stream events to the read tables in one transaction.

Shared by the live projector and `tonypi replay`. The batch's rows, its dead letters
and the checkpoint commit together or not at all, so each event takes effect exactly
once whatever crashes. Events at or below the checkpoint are skipped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from . import metrics, store
from .batch import BatchChanges, DeadLetter, StreamEvent, fold_batch
from .folds import ItemCatalogue, RobotState
from .folds.commands import referenced_id

log = logging.getLogger(__name__)

# Batches take it shared; `tonypi replay` takes it exclusive for its final catch-up and swap.
TABLES_LOCK_KEY = 0x7470_7461_626C  # "tptabl"

# A row the database refuses (a number out of range, a constraint): the event's fault,
# not the batch's. Connection and server failures are retried, never dead-lettered.
_EVENT_FAULTS = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


@dataclass(frozen=True)
class Applied:
    last_seq: int
    events: int  # new events in the batch (applied or dead-lettered)
    lost: int  # sequences missing before them: dropped by retention


def find_gaps(events: list[StreamEvent], checkpoint: int) -> int:
    """Sequences that should have come between the checkpoint and these events and did not."""
    lost, expected = 0, checkpoint + 1
    for event in events:
        if event.seq > expected:
            lost += event.seq - expected
        expected = event.seq + 1
    return lost


class BatchApplier:
    def __init__(
        self,
        stream: str,
        items: ItemCatalogue,
        *,
        live: bool = True,
        cache: dict[str, RobotState] | None = None,
        feed_retention_s: float | None = None,
    ) -> None:
        # live: take the tables lock, notify the query service and feed the metrics.
        # cache: robot states kept between batches, for a sole writer (a replay's staging
        # tables). The live projector reads them afresh in each batch's transaction instead,
        # so a replay swapping tables in under it can never meet a stale copy.
        self.stream, self.items, self.live, self.cache = stream, items, live, cache
        # A replay writes only the live feed's retention window (the live projector writes
        # every record, and retention prunes them): a year's replay makes no year of feed.
        self.feed_retention_s = feed_retention_s

    def _feed_since(self) -> datetime | None:
        if self.live or self.feed_retention_s is None:
            return None
        return datetime.now(UTC) - timedelta(seconds=self.feed_retention_s)

    async def apply(self, conn: asyncpg.Connection, events: list[StreamEvent], checkpoint: int) -> Applied:
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
        started = time.perf_counter()
        try:
            changes = await self._commit(conn, fresh, checkpoint)
        except _EVENT_FAULTS as exc:
            log.warning(
                "batch up to sequence %d refused by the database (%s); applying its events one by one",
                fresh[-1].seq,
                exc,
            )
            changes = await self._commit_one_by_one(conn, fresh, checkpoint)
        if self.live:
            self._observe(changes, len(fresh), time.perf_counter() - started, fresh[-1].seq)
        return Applied(fresh[-1].seq, len(fresh), lost)

    async def _commit(
        self, conn: asyncpg.Connection, events: list[StreamEvent], checkpoint: int
    ) -> BatchChanges:
        async with conn.transaction():
            if self.live:
                await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", TABLES_LOCK_KEY)
            robot_ids = sorted({e.event.robot_id for e in events if e.event is not None})
            states = await self._states(conn, robot_ids)
            named = sorted({c for e in events if e.event is not None and (c := referenced_id(e.event))})
            book = await store.load_commands(conn, named)
            changes = fold_batch(states, events, self.items, book)
            await store.write_batch(
                conn,
                changes,
                stream=self.stream,
                expected_seq=checkpoint,
                last_seq=events[-1].seq,
                notify=self.live,
                feed_since=self._feed_since(),
            )
        if self.cache is not None:
            self.cache.update(states)  # only once committed
        return changes

    async def _states(self, conn: asyncpg.Connection, robot_ids: list[str]) -> dict[str, RobotState]:
        if self.cache is None:
            return await store.load_states(conn, robot_ids)
        missing = [r for r in robot_ids if r not in self.cache]
        loaded = await store.load_states(conn, missing) if missing else {}
        return {r: self.cache.get(r) or loaded.get(r) or RobotState() for r in robot_ids}

    async def _commit_one_by_one(
        self, conn: asyncpg.Connection, events: list[StreamEvent], checkpoint: int
    ) -> BatchChanges:
        total = BatchChanges()
        for event in events:
            try:
                changes = await self._commit(conn, [event], checkpoint)
            except _EVENT_FAULTS as exc:
                changes = BatchChanges(
                    dead_letters=[
                        DeadLetter(event.seq, event.raw, f"{type(exc).__name__}: {exc}", event.event)
                    ]
                )
                async with conn.transaction():
                    await store.write_batch(
                        conn,
                        changes,
                        stream=self.stream,
                        expected_seq=checkpoint,
                        last_seq=event.seq,
                        notify=self.live,
                    )
            checkpoint = event.seq
            total.dead_letters.extend(changes.dead_letters)
            for event_type, n in changes.applied.items():
                total.applied[event_type] = total.applied.get(event_type, 0) + n
            for reason, n in changes.without_effect.items():
                total.without_effect[reason] = total.without_effect.get(reason, 0) + n
        return total

    def _observe(self, changes: BatchChanges, size: int, seconds: float, last_seq: int) -> None:
        for event_type, n in changes.applied.items():
            metrics.EVENTS_APPLIED.labels(event_type).inc(n)
        for reason, n in changes.without_effect.items():
            metrics.WITHOUT_EFFECT.labels(reason).inc(n)
        for dead in changes.dead_letters:
            log.error("dead-lettered event at sequence %d: %s", dead.seq, dead.error)
        metrics.DEAD_LETTERS.inc(len(changes.dead_letters))
        metrics.BATCH_SIZE.observe(size)
        metrics.BATCH_APPLY_SECONDS.observe(seconds)
        metrics.CHECKPOINT_SEQUENCE.set(last_seq)
