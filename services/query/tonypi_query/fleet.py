"""Keeps the fleet gauges on /metrics fresh: a dashboard reads them without querying the API."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from . import metrics
from .reads import Reads

log = logging.getLogger(__name__)


async def refresh_fleet_gauges(reads: Reads, interval: float) -> None:
    while True:
        try:
            counts = await reads.fleet_counts()
            metrics.FLEET_ROBOTS_TOTAL.set(counts["total"])
            metrics.FLEET_ROBOTS_ONLINE.set(counts["online"])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.debug("fleet gauges not refreshed: %s", exc)
        await asyncio.sleep(interval)
