"""Keeps the fleet gauges on /metrics fresh: a dashboard reads them without querying the API.

All from the projector's counters, except the per-robot gauges: those carry only the
FLEET_GAUGE_TOP worst robots at a time (lowest batteries, hottest CPUs), so their series
stay bounded whatever the fleet's size; a robot that leaves the top loses its series.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from prometheus_client import Gauge
from tonypi_events.alarms import ALARM_KINDS, SEVERITIES

from . import metrics
from .reads import Reads

log = logging.getLogger(__name__)


def _replace_series(gauge: Gauge, rows: list[asyncpg.Record]) -> None:
    gauge.clear()
    for row in rows:
        gauge.labels(row["robot_id"][:128]).set(row["value"])


async def refresh_once(reads: Reads, top: int) -> None:
    counters = await reads.counters()
    metrics.FLEET_ROBOTS_TOTAL.set(counters.get("robots_total", 0))
    metrics.FLEET_ROBOTS_ONLINE.set(counters.get("robots_online", 0))
    # Every kind and severity, 0 when none is open: an alert on the gauge resolves instead
    # of going stale.
    for kind in ALARM_KINDS:
        for severity in SEVERITIES:
            metrics.ALARMS_ACTIVE.labels(kind, severity).set(
                counters.get(f"alarms_open:{kind}:{severity}", 0)
            )
    if top > 0:
        batteries, temperatures = await reads.worst_robots(top)
        _replace_series(metrics.ROBOT_BATTERY_LOWEST, batteries)
        _replace_series(metrics.ROBOT_TEMPERATURE_HOTTEST, temperatures)


async def refresh_fleet_gauges(reads: Reads, interval: float, top: int) -> None:
    while True:
        try:
            await refresh_once(reads, top)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.debug("fleet gauges not refreshed: %s", exc)
        await asyncio.sleep(interval)
