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

from . import metrics

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


async def run_retention(
    days: float, interval: float, connect: Callable, is_active: Callable[[], bool], stop: asyncio.Event
) -> None:
    """Every `interval` seconds, on the active replica only, prune what is older than `days`."""
    if days <= 0:
        log.info("log retention off (LOG_RETENTION_DAYS=0): system_logs are kept forever")
        return
    while not await sleep_unless(stop, interval):
        if not is_active():
            continue
        try:
            conn = await connect()
            try:
                pruned = await prune_logs(conn, retention_cutoff(days))
            finally:
                await conn.close()
        except Exception as exc:  # the next pass tries again
            log.warning("log retention pass failed (%s: %s)", type(exc).__name__, exc)
            continue
        if pruned:
            metrics.LOGS_PRUNED.inc(pruned)
            log.info("pruned %d system_logs older than %g days", pruned, days)
