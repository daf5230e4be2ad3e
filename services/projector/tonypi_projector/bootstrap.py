"""Composition root: settings, connections, the projector, retention and the ops server."""

from __future__ import annotations

import asyncio
import logging

import nats
import nats.errors
from tonypi_events.clock import run_clock
from tonypi_runtime.entrypoint import StoppedDuringStartup, stop_event_on_signals, unless_stopped
from tonypi_runtime.logs import configure_logging
from tonypi_runtime.ops import OpsServer

from . import metrics
from .catalogue import load_items
from .config import ProjectorSettings, load_settings
from .connections import connect_nats, database_connector, prepare_database
from .projector import Projector
from .retention import run_history_maintenance, run_retention

log = logging.getLogger("tonypi_projector")


async def run_clock_emitter(nc: nats.NATS, settings: ProjectorSettings, stop: asyncio.Event) -> None:
    """Every replica, active or standby, keeps the stream's time (docs/alarms.md)."""
    if settings.clock_tick_period <= 0:
        log.info("clock ticks off (CLOCK_TICK_PERIOD=0): another emitter must keep the stream's time")
        return
    await run_clock(
        nc.jetstream(),
        settings.streams,
        settings.clock_tick_period,
        settings.online_timeout,
        stop,
        on_published=lambda duplicate: metrics.CLOCK_TICKS.labels(
            "duplicate" if duplicate else "stored"
        ).inc(),
        on_failed=lambda: metrics.CLOCK_TICKS.labels("failed").inc(),
    )


async def _connected(settings: ProjectorSettings) -> nats.NATS:
    """The database created and migrated, NATS connected. The streams are an admin's to
    declare (`tonypi streams declare`): the projector waits for them (Projector.run)."""
    await prepare_database(settings)
    return await connect_nats(settings)


async def run(settings: ProjectorSettings, stop: asyncio.Event) -> None:
    items = load_items(settings.item_catalogue_path)
    try:
        nc = await unless_stopped(stop, _connected(settings))
    except StoppedDuringStartup:
        log.info("projector stopped during start-up")
        return
    try:
        connect = database_connector(settings)
        projector = Projector(settings, nc, connect, items)
        ops = OpsServer(settings.bind.host, settings.bind.port, projector.readiness)
        await ops.start()
        log.info("projector serving /metrics /livez /readyz on %s:%d", settings.bind.host, settings.bind.port)
        try:
            await asyncio.gather(
                projector.run(stop),
                run_clock_emitter(nc, settings, stop),
                projector.watch_progress(stop),
                run_retention(
                    settings.log_retention_days,
                    settings.log_retention_interval,
                    connect,
                    lambda: projector.active,
                    stop,
                    settings.live_feed_retention_s,
                ),
                run_history_maintenance(
                    settings.history,
                    settings.history_maintenance_interval,
                    connect,
                    lambda: projector.active,
                    stop,
                ),
            )
        finally:
            await ops.stop()
    finally:
        await nc.drain() if nc.is_connected else await nc.close()
    log.info("projector stopped")


async def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    await run(settings, stop_event_on_signals())
