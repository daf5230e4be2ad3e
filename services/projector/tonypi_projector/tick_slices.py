"""A clock tick folded in slices: the offline storm never blocks the projector.

When most of the fleet goes silent at once (a broker or network outage), one clock tick
finds every robot silent. Folding them all in one transaction held the projector for
minutes. Instead a tick is applied alone, `tick_slice` silent robots per transaction, in
code point order of robot id: each slice commits its rows and the tick's progress (the
last robot folded and the next alarm id, in `projection_checkpoint`), and the final
slice also fires the tick's schedules and moves the checkpoint past the tick. The rows
are those of one unsliced fold (same ids, same order), so exactly-once and a replay's
equality hold however the tick was cut, and a stop takes effect between two slices.
docs/alarms.md, "The offline storm".
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import asyncpg
from tonypi_events import decode_payload
from tonypi_runtime.postgres import READ_TABLES_PROJECTION
from tonypi_runtime.text import escape_text

from . import metrics, store
from .batch import BatchChanges, DeadLetter, StreamEvent, TickSlice, fold_batch
from .faults import ERROR_LOG_CHARS, TABLES_LOCK_KEY, describe, event_fault
from .folds import CLOCK_EVENTS
from .folds.context import ALARM_IDS_PER_EVENT

if TYPE_CHECKING:
    from .applier import BatchApplier

log = logging.getLogger(__name__)

NO_FEED = datetime.max.replace(tzinfo=UTC)  # feed_since for a slice that writes no record

# Robots a clock tick may change (tick_slices.py). Other time-driven folds add their query.
# The silent robots of one slice of a tick at $1 with inactivity timeout $2 (seconds): those
# after the last one folded ($3, NULL for the first slice), in code point order (the order
# `fold_tick` folds in), at most $4 (idx_robots_online_seen).
SILENT_SLICE = (
    "SELECT robot_id FROM robots WHERE online AND (last_seen IS NULL "
    "OR last_seen <= $1::timestamptz - make_interval(secs => $2::float8)) "
    'AND ($3::text IS NULL OR (robot_id COLLATE "C") > $3::text) '
    'ORDER BY (robot_id COLLATE "C") LIMIT $4'
)


# The robots of the schedules a tick at $1 fires: their online state decides each firing.
SCHEDULE_ROBOTS = (
    "SELECT DISTINCT jsonb_array_elements_text(robot_ids) FROM schedules "
    "WHERE state = 'active' AND next_fire_at <= $1::timestamptz"
)


@dataclass(frozen=True)
class TickProgress:
    """How far a clock tick folded in slices has come: every robot up to `after` (in code point
    order) is folded, and its next alarm id is `next_id`."""

    seq: int
    after: str | None
    next_id: int


async def silent_slice(
    conn: asyncpg.Connection, at: datetime, timeout_s: float, after: str | None, limit: int
) -> list[str]:
    return [r[0] for r in await conn.fetch(SILENT_SLICE, at, timeout_s, after, limit)]


async def schedule_robots(conn: asyncpg.Connection, at: datetime) -> set[str]:
    """The robots of the schedules a tick at `at` fires (their state decides each firing)."""
    return {r[0] for r in await conn.fetch(SCHEDULE_ROBOTS, at)}


async def read_tick_progress(conn: asyncpg.Connection, seq: int) -> TickProgress | None:
    """The progress of the tick at `seq` if part of it is committed, else None."""
    row = await conn.fetchrow(
        "SELECT tick_after, tick_next_id FROM projection_checkpoint "
        "WHERE projection = $1 AND tick_seq = $2 AND last_seq = $2 - 1",
        READ_TABLES_PROJECTION,
        seq,
    )
    return TickProgress(seq, row["tick_after"], row["tick_next_id"]) if row else None


async def save_tick_progress(conn: asyncpg.Connection, progress: TickProgress) -> None:
    """Record a committed slice, compare-and-set against the checkpoint just before the tick."""
    moved = await conn.fetchval(
        "UPDATE projection_checkpoint SET tick_seq = $1, tick_after = $2, tick_next_id = $3, "
        "updated_at = NOW() WHERE projection = $4 AND last_seq = $1 - 1 RETURNING last_seq",
        progress.seq,
        progress.after,
        progress.next_id,
        READ_TABLES_PROJECTION,
    )
    if moved is None:
        raise store.CheckpointMoved(f"checkpoint is no longer {progress.seq - 1}")


def is_tick(event: StreamEvent) -> bool:
    """A clock tick to apply in slices (one that does not decode is dead-lettered in a run)."""
    if event.event is None or event.event.event_type not in CLOCK_EVENTS:
        return False
    try:
        decode_payload(event.event)
    except Exception:
        return False
    return True


def runs(events: list[StreamEvent]) -> list[list[StreamEvent]]:
    """`events` cut before and after each clock tick: runs of other events, and ticks alone."""
    cut: list[list[StreamEvent]] = []
    for event in events:
        if is_tick(event) or not cut or is_tick(cut[-1][0]):
            cut.append([event])
        else:
            cut[-1].append(event)
    return cut


async def apply_tick(
    applier: BatchApplier,
    conn: asyncpg.Connection,
    item: StreamEvent,
    checkpoint: int,
    stop: asyncio.Event | None = None,
) -> int:
    """Apply the clock tick `item` (the next event after `checkpoint`), slice by slice, from
    where a committed slice left it. Returns the checkpoint: the tick's sequence once it is
    whole, `checkpoint` if `stop` was set part-way (the next start goes on from there)."""
    assert item.event is not None and item.seq == checkpoint + 1
    tick = decode_payload(item.event)  # an undecodable tick is the caller's to dead-letter
    at, timeout = item.event.received_at, tick.offline_after_s
    while True:
        started = time.perf_counter()
        try:
            async with conn.transaction():
                if applier.live:
                    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", TABLES_LOCK_KEY)
                progress = await read_tick_progress(conn, item.seq) or TickProgress(
                    item.seq, None, item.seq * ALARM_IDS_PER_EVENT
                )
                size = applier.tick_slice
                silent = await silent_slice(conn, at, timeout, progress.after, size + 1)
                final = len(silent) <= size
                robot_ids = set(silent[:size])
                if final:  # the robots whose state decides the tick's schedules
                    robot_ids |= await schedule_robots(conn, at)
                states = await applier.load_states(conn, sorted(robot_ids))
                book = await store.load_commands(conn, [])
                schedules = await applier.load_schedules(conn, [item])
                # The tick's live-feed record is its first slice's (one per sequence): the
                # later slices build none.
                feed_since = applier.feed_since() if progress.after is None else NO_FEED
                part = TickSlice(progress.after, progress.next_id, final)
                changes = fold_batch(states, [item], applier.items, book, feed_since, schedules, part)
                final = final or bool(changes.dead_letters)
                if final:
                    await store.write_batch(
                        conn,
                        changes,
                        stream=applier.stream,
                        expected_seq=checkpoint,
                        last_seq=item.seq,
                        notify=applier.live,
                        feed_since=feed_since,
                        history=applier.history,
                    )
                else:
                    await store.write_rows(conn, changes, feed_since=feed_since, history=applier.history)
                    assert changes.next_alarm_id is not None
                    await save_tick_progress(
                        conn, TickProgress(item.seq, silent[size - 1], changes.next_alarm_id)
                    )
                    changes.applied = {}  # the tick is applied once, by its final slice
        except Exception as exc:
            if not event_fault(exc):
                raise
            log.warning(
                "clock tick %d failed (%s): dead-lettered; the slices before it stay applied",
                item.seq,
                escape_text(describe(exc), ERROR_LOG_CHARS),
            )
            dead = DeadLetter(item.seq, item.raw, describe(exc), item.event)
            async with conn.transaction():
                await store.write_dead_letters(conn, [dead])
                await store.advance_checkpoint(
                    conn,
                    stream=applier.stream,
                    expected_seq=checkpoint,
                    last_seq=item.seq,
                    notify=applier.live,
                )
            if applier.live:
                applier.observe(BatchChanges(dead_letters=[dead]), 1, time.perf_counter() - started, item.seq)
            return item.seq
        applier.remember(states)  # only once committed
        if applier.live:
            applier.observe(
                changes, 1 if final else 0, time.perf_counter() - started, item.seq if final else checkpoint
            )
            metrics.TICK_SLICES.inc()
        if final:
            return item.seq
        if stop is not None and stop.is_set():
            log.info("stopping part-way through clock tick %d (after robot %r)", item.seq, silent[size - 1])
            return checkpoint
