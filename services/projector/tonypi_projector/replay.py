"""Rebuilding the read tables from the start of the stream, then swapping them in.

1. The same migrations run into a fresh staging schema (through search_path).
2. Every event the stream holds is folded into it by the projector's own applier.
3. System logs past LOG_RETENTION_DAYS are pruned with the live cutoff rule.
4. In ONE transaction holding the tables lock exclusively (a live projector's batches
   take it shared, so they pause for this moment only): catch up to the live
   checkpoint, move the live tables out and the staging ones in, drop the old ones.
   Readers see the old tables or the new ones, never a half-built one.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from tonypi_events import read_tables
from tonypi_runtime.nats_client import streams_problem
from tonypi_runtime.postgres import CHECKPOINT_CHANNEL, READ_TABLES_PROJECTION, quote_ident

from . import history_store, store
from .applier import TABLES_LOCK_KEY, BatchApplier
from .catalogue import load_items
from .config import ProjectorSettings
from .connections import connect_nats, database_connector, prepare_database
from .migrations import apply_migrations
from .projector import StreamsNotDeclared
from .retention import prune_logs, retention_cutoff
from .source import EventSource

log = logging.getLogger(__name__)

REPLAY_LOCK_KEY = 0x7470_7270_6C79  # "tprply": one replay at a time
STAGING_PREFIX = "tonypi_replay_"
# Every table the migrations make, as declared (partitioned ones: their partitions move with
# them, _move_table).
SWAPPED_TABLES = tuple(t.name for t in read_tables.TABLES)


class ReplayRefused(Exception):
    """Another replay holds the replay lock."""


@dataclass(frozen=True)
class ReplayResult:
    events: int
    last_seq: int
    seconds: float
    lost: int
    pruned: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


async def _drop_stale_staging(conn: asyncpg.Connection) -> None:
    for name in await conn.fetch(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", STAGING_PREFIX.replace("_", r"\_") + "%"
    ):
        await conn.execute(f"DROP SCHEMA {await quote_ident(conn, name['nspname'])} CASCADE")


async def _move_statistics(conn: asyncpg.Connection, source: str, target: str) -> None:
    """Extended statistics (CREATE STATISTICS in the migrations) do not move with ALTER TABLE."""
    names = await conn.fetch(
        "SELECT quote_ident(s.stxname) AS name FROM pg_statistic_ext s "
        "JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE quote_ident(n.nspname) = $1",
        source,
    )
    for row in names:
        await conn.execute(f"ALTER STATISTICS {source}.{row['name']} SET SCHEMA {target}")


async def _move_table(conn: asyncpg.Connection, source: str, table: str, target: str) -> None:
    """Move `source`.`table` to `target`, with its partitions: ALTER TABLE SET SCHEMA moves a
    partitioned table's parent only."""
    children = await conn.fetch(
        "SELECT quote_ident(c.relname) AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE p.relname = $1 AND quote_ident(n.nspname) = $2",
        table,
        source,
    )
    await conn.execute(f"ALTER TABLE IF EXISTS {source}.{table} SET SCHEMA {target}")
    for child in children:
        await conn.execute(f"ALTER TABLE {source}.{child['name']} SET SCHEMA {target}")


async def replay(
    settings: ProjectorSettings,
    *,
    batch_size: int = 2000,
    on_progress: Callable[[int, int], None] | None = None,
    swap: bool = True,
) -> ReplayResult:
    """Rebuild and (unless swap=False) swap in. on_progress(events_done_now, total_expected)."""
    started = time.monotonic()
    await prepare_database(settings)
    connect = database_connector(settings)
    conn = await connect()
    nc = await connect_nats(settings)
    batches = None
    source = EventSource(nc, settings.streams, "", batch_size=batch_size, fetch_timeout=0.5, durable=False)
    staging: str | None = None  # set once created; None again once swapped in
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REPLAY_LOCK_KEY):
            raise ReplayRefused("another `tonypi replay` is running against this database")
        problem = await streams_problem(nc.jetstream(), settings.streams)
        if problem is not None:
            raise StreamsNotDeclared(problem)
        live = await quote_ident(conn, await conn.fetchval("SELECT current_schema()"))
        await _drop_stale_staging(conn)
        name = await quote_ident(conn, f"{STAGING_PREFIX}{os.getpid()}_{int(time.time())}")
        await conn.execute(f"CREATE SCHEMA {name}")
        staging = name
        await conn.execute(f"SET search_path TO {staging}")
        await apply_migrations(conn)
        checkpoint = await store.ensure_checkpoint(conn, settings.streams.events)

        applier = BatchApplier(
            settings.streams.events,
            load_items(settings.item_catalogue_path),
            live=False,
            cache={},
            feed_retention_s=settings.live_feed_retention_s,
            tick_slice=settings.tick_slice,
            history=settings.history,
        )
        first, target = await source.bounds()
        await source.open(1)
        total = max(0, target - first + 1) if target else 0
        events = lost = 0

        batches = source.batches()

        async def fold_until(seq: int) -> None:
            nonlocal checkpoint, events, lost
            while checkpoint < seq:
                msgs, decoded = await anext(batches)
                if not msgs:
                    continue
                applied = await applier.apply(conn, decoded, checkpoint)
                checkpoint, events, lost = applied.last_seq, events + applied.events, lost + applied.lost
                if on_progress:
                    on_progress(applied.events, max(total, events))

        await fold_until(target)
        pruned = 0
        if settings.log_retention_days > 0:
            pruned = await prune_logs(conn, retention_cutoff(settings.log_retention_days))
        if settings.history.enabled:  # the live retention's rule, and the partitions ahead
            await history_store.maintain(conn, settings.history)
        if not swap:
            log.info("staging schema %s left in place (no swap)", staging)
            staging = None
            return ReplayResult(events, checkpoint, time.monotonic() - started, lost, pruned)

        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", TABLES_LOCK_KEY)
            live_seq = await conn.fetchval(
                f"SELECT last_seq FROM {live}.projection_checkpoint WHERE projection = $1",
                READ_TABLES_PROJECTION,
            )
            # Never wait for more than the stream holds (a checkpoint from another stream).
            await fold_until(min(int(live_seq or 0), (await source.bounds())[1]))
            retired = await quote_ident(conn, f"{STAGING_PREFIX}retired_{os.getpid()}_{int(time.time())}")
            await conn.execute(f"CREATE SCHEMA {retired}")
            for table in SWAPPED_TABLES:
                await _move_table(conn, live, table, retired)
                await _move_table(conn, staging, table, live)
            # Dropping the retired tables drops their statistics objects, which stay in the
            # live schema when a table moves; the rebuilt tables' ones follow them in.
            await conn.execute(f"DROP SCHEMA {retired} CASCADE")
            await _move_statistics(conn, staging, live)
            await conn.execute(f"DROP SCHEMA {staging} CASCADE")
            await conn.execute("SELECT pg_notify($1, $2)", CHECKPOINT_CHANNEL, str(checkpoint))
        staging = None
        return ReplayResult(events, checkpoint, time.monotonic() - started, lost, pruned)
    finally:
        if batches is not None:
            await batches.aclose()
        await source.close()
        await nc.close()
        if staging is not None:  # failed or interrupted before the swap: leave nothing behind
            await _drop_schema_after_failure(conn, connect, staging)
        await conn.close()


async def _drop_schema_after_failure(conn: asyncpg.Connection, connect, staging: str) -> None:
    """Drop a half-built staging schema, on the replay's connection if it is still usable
    (out of any failed transaction), else on a new one. A failure here is logged, not
    raised over the error that stopped the replay; the next replay drops it anyway."""
    try:
        if conn.is_closed() or conn.is_in_transaction():
            if not conn.is_closed():
                conn.terminate()
            conn = await connect()
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {staging} CASCADE")
            finally:
                await conn.close()
        else:
            await conn.execute(f"DROP SCHEMA IF EXISTS {staging} CASCADE")
        log.warning("replay did not finish: dropped its staging schema %s", staging)
    except Exception as exc:
        log.error("replay did not finish and its staging schema %s could not be dropped (%s)", staging, exc)


__all__ = ["ReplayRefused", "ReplayResult", "replay"]
