"""Pruning old system_logs in small batches, in the background.

Each pass deletes rows older than LOG_RETENTION_DAYS a thousand at a time, each
delete its own short transaction, so the projector's batches never wait long
behind it. `tonypi replay` prunes its rebuilt tables with the same cutoff before the
swap, so a replay still equals the live tables (see docs/projector.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from tonypi_runtime.entrypoint import sleep_unless

from . import history_store, metrics
from .applier import TABLES_LOCK_KEY

log = logging.getLogger(__name__)

PRUNE_BATCH = 1000


def retention_cutoff(days: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


async def prune_logs(
    conn: asyncpg.Connection, cutoff: datetime, batch: int = PRUNE_BATCH, pause: float = 0.01
) -> int:
    """Delete system_logs rows older than `cutoff`, `batch` at a time. Returns how many."""
    total = 0
    while True:
        deleted = await _delete_some(conn, cutoff, batch)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(pause)


async def _delete_some(conn: asyncpg.Connection, cutoff: datetime, batch: int) -> int:
    status = await conn.execute(
        "DELETE FROM system_logs WHERE id IN "
        "(SELECT id FROM system_logs WHERE timestamp < $1 ORDER BY timestamp LIMIT $2)",
        cutoff,
        batch,
    )
    return int(status.split()[-1])


async def prune_feed(conn: asyncpg.Connection, cutoff: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete live_feed records older than `cutoff`, `batch` at a time. Returns how many."""
    total = 0
    while True:
        status = await conn.execute(
            "DELETE FROM live_feed WHERE seq IN "
            "(SELECT seq FROM live_feed WHERE at < $1 ORDER BY at LIMIT $2)",
            cutoff,
            batch,
        )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0.01)


async def run_retention(
    days: float,
    interval: float,
    connect: Callable,
    is_active: Callable[[], bool],
    stop: asyncio.Event,
    feed_retention_s: float = 3600.0,
) -> None:
    """Every `interval` seconds, on the active replica only, prune system_logs older than
    `days` (0: kept forever) and live_feed records older than `feed_retention_s`."""
    if days <= 0:
        log.info("log retention off (LOG_RETENTION_DAYS=0): system_logs are kept forever")
    feed_interval = min(interval, max(1.0, feed_retention_s / 10))
    while not await sleep_unless(stop, feed_interval):
        if not is_active():
            continue
        try:
            conn = await connect()
            try:
                pruned = await prune_logs(conn, retention_cutoff(days)) if days > 0 else 0
                feed = await prune_feed(conn, datetime.now(UTC) - timedelta(seconds=feed_retention_s))
            finally:
                await conn.close()
        except Exception as exc:  # the next pass tries again
            log.warning("retention pass failed (%s: %s)", type(exc).__name__, exc)
            continue
        if pruned:
            metrics.LOGS_PRUNED.inc(pruned)
            log.info("pruned %d system_logs older than %g days", pruned, days)
        if feed:
            metrics.FEED_PRUNED.inc(feed)


async def history_pass(conn: asyncpg.Connection, policy: history_store.HistoryPolicy) -> list[str]:
    """Partitions ahead and retention of the telemetry history, in one transaction holding
    the tables lock exclusively: batches (which take it shared and may create a partition
    themselves) wait for this moment, so DDL never races a batch. Returns what it dropped."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", TABLES_LOCK_KEY)
        return await history_store.maintain(conn, policy)


async def run_history_maintenance(
    policy: history_store.HistoryPolicy,
    interval: float,
    connect: Callable,
    is_active: Callable[[], bool],
    stop: asyncio.Event,
) -> None:
    """At once and every `interval` seconds, on the active replica only: history_pass."""
    if not policy.enabled:
        log.info("telemetry history off (HISTORY_ENABLED=false): no samples are written")
        return
    wait = 0.5
    while not await sleep_unless(stop, wait):
        if not is_active():
            wait = 1.0
            continue
        wait = interval
        try:
            conn = await connect()
            try:
                dropped = await history_pass(conn, policy)
            finally:
                await conn.close()
        except Exception as exc:  # the next pass tries again
            metrics.HISTORY_MAINTENANCE_FAILURES.inc()
            log.warning("history maintenance pass failed (%s: %s)", type(exc).__name__, exc)
            wait = min(interval, 30.0)
            continue
        for name in dropped:
            metrics.HISTORY_PARTITIONS_DROPPED.labels(name.rsplit("_p", 1)[0]).inc()
            log.info("dropped history partition %s (past its retention)", name)
