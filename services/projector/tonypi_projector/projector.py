"""The live projector: one active replica, any number of standbys.

Active/standby by a PostgreSQL session advisory lock held on the very connection that
writes the batches: the lock and the writes share one fate. When the active replica
dies its connection closes, PostgreSQL releases the lock, and a standby polling every
PROJECTOR_STANDBY_POLL seconds takes over, resuming from the committed checkpoint.
The checkpoint's compare-and-set makes a second writer fail rather than double-apply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from nats.aio.client import Client as NATS
from tonypi_runtime.entrypoint import sleep_unless
from tonypi_runtime.nats_client import streams_problem
from tonypi_runtime.retry import backoff_delays
from tonypi_runtime.text import escape_text

from . import metrics, store
from .applier import BatchApplier, describe
from .config import ProjectorSettings
from .folds import ItemCatalogue
from .source import EventSource
from .stall import ProgressWatch

log = logging.getLogger(__name__)

ACTIVE_LOCK_KEY = 0x7470_6163_7476  # "tpactv"

Connect = Callable[[], Awaitable[asyncpg.Connection]]

# What says the database itself is gone (not a statement it refused).
_CONNECTION_LOST = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


class StreamsNotDeclared(Exception):
    """The events or dead-letter stream does not exist yet: an admin declares them."""


class Projector:
    def __init__(self, settings: ProjectorSettings, nc: NATS, connect: Connect, items: ItemCatalogue) -> None:
        self.settings, self.nc, self.connect = settings, nc, connect
        self.source = EventSource(
            nc,
            settings.streams,
            settings.consumer,
            batch_size=settings.batch_size,
            fetch_timeout=settings.fetch_timeout,
        )
        self.applier = BatchApplier(
            settings.streams.events, items, tick_slice=settings.tick_slice, history=settings.history
        )
        self.role = "starting"
        self.database_ok = False
        self.streams: str | None = "not looked up yet"  # None: both streams exist
        self.last_error: str | None = None
        self.watch = ProgressWatch()
        # Read at scrape time: the stall's age is never a stale copy.
        metrics.LAG_EVENTS.set_function(lambda: self.watch.lag)
        metrics.STALLED_SECONDS.set_function(lambda: self.watch.stalled_seconds)

    @property
    def active(self) -> bool:
        return self.role == "active"

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: connect, wait to become active, project; on any failure start over."""
        delays = backoff_delays()

        def started() -> None:  # projecting again: the next failure starts the backoff afresh
            nonlocal delays
            delays = backoff_delays()
            self.last_error = None

        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                try:
                    conn = await self.connect()
                except Exception:
                    self.database_ok = False
                    raise
                self.database_ok = True
                # Declared by an admin (`tonypi streams declare`), never here: until then,
                # retried with backoff, and /readyz names the missing stream.
                self.streams = await streams_problem(self.nc.jetstream(), self.settings.streams)
                if self.streams is not None:
                    raise StreamsNotDeclared(self.streams)
                if await self._become_active(conn, stop):
                    await self._project(conn, stop, on_started=started)
            except Exception as exc:  # database or broker gone: reconnect with backoff, say so
                delay = next(delays)
                self.last_error = escape_text(describe(exc), 300)
                log.warning("projection interrupted (%s); retrying in %.1fs", self.last_error, delay)
                metrics.INTERRUPTIONS.inc()
                if isinstance(exc, _CONNECTION_LOST) and (conn is None or conn.is_closed()):
                    self.database_ok = False
                await sleep_unless(stop, delay)
            finally:
                self._set_role("stopped" if stop.is_set() else "starting")
                await self.source.close()
                if conn is not None and not conn.is_closed():
                    try:
                        await asyncio.wait_for(conn.close(), 5)
                    except Exception:
                        conn.terminate()

    async def _become_active(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        announced = False
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", ACTIVE_LOCK_KEY):
                self._set_role("active")
                return True
            if not announced:
                log.info(
                    "standby: another projector holds the active lock; polling every %.1fs",
                    self.settings.standby_poll,
                )
                announced = True
            self._set_role("standby")
            await sleep_unless(stop, self.settings.standby_poll)
        return False

    async def _project(
        self, conn: asyncpg.Connection, stop: asyncio.Event, on_started: Callable[[], None]
    ) -> None:
        stream = self.settings.streams.events
        checkpoint = await store.ensure_checkpoint(conn, stream)
        self.watch.committed(checkpoint)
        await self.source.open(checkpoint + 1)
        metrics.CHECKPOINT_SEQUENCE.set(checkpoint)
        first, last = await self.source.bounds()
        self.watch.stream_end(last)
        log.info(
            "active: resuming %s from sequence %d (stream holds %d..%d)", stream, checkpoint + 1, first, last
        )
        on_started()
        batches = self.source.batches()
        try:
            while not stop.is_set():
                msgs, events = await anext(batches)
                if not msgs:
                    if conn.is_closed():  # lost while idle: so was the lock; let a standby take over
                        raise ConnectionError("database connection lost while idle")
                    continue
                try:
                    applied = await self.applier.apply(conn, events, checkpoint, stop)
                except store.CheckpointMoved:
                    await batches.aclose()
                    checkpoint = await store.read_checkpoint(conn)
                    self.watch.committed(checkpoint)
                    log.warning(
                        "the checkpoint moved under this projector (a replay swapped tables in?); "
                        "resuming from sequence %d",
                        checkpoint + 1,
                    )
                    await self.source.open(checkpoint + 1)
                    batches = self.source.batches()
                    continue
                checkpoint = applied.last_seq
                self.watch.committed(checkpoint)
                self.last_error = None
                if checkpoint < events[-1].seq:  # stopped part-way through a clock tick
                    break
                try:
                    await msgs[-1].ack()  # AckPolicy.ALL: acknowledges the whole batch
                except Exception as exc:  # redelivered later, skipped as at or below the checkpoint
                    log.debug("ack failed: %s", exc)
                self.watch.stream_end(msgs[-1].metadata.sequence.stream + msgs[-1].metadata.num_pending)
                self._publish_progress()
        finally:
            await batches.aclose()

    def _set_role(self, role: str) -> None:
        self.role = role
        metrics.ACTIVE.set(1 if role == "active" else 0)
        if role == "standby":
            self.watch.standing_by()

    def _publish_progress(self) -> None:
        if self.watch.stream_last is not None:
            metrics.STREAM_LAST_SEQUENCE.set(self.watch.stream_last)

    async def watch_progress(self, stop: asyncio.Event) -> None:
        """Every PROJECTOR_PROGRESS_INTERVAL: the stream's end against the checkpoint, so lag
        and stall keep moving while no batch commits (a stuck or crash-looping projector)."""
        while not stop.is_set():
            if self.watch.checkpoint is not None:
                try:
                    info = await asyncio.wait_for(
                        self.nc.jetstream().stream_info(self.settings.streams.events), 5
                    )
                    self.watch.stream_end(info.state.last_seq)
                except Exception as exc:  # NATS away: the last known end still ages the stall
                    log.debug("stream info unavailable: %s", exc)
            self._publish_progress()
            await sleep_unless(stop, self.settings.progress_interval)

    @property
    def stalled(self) -> bool:
        return self.watch.stalled_seconds >= self.settings.stall_seconds

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        checks = {
            "database": "ok" if self.database_ok else "unreachable",
            "nats": "connected" if self.nc.is_connected else "disconnected",
            "streams": self.streams or "ok",
            "role": self.role,
            "projection": ("STALLED: " if self.stalled else "") + self.watch.describe(),
        }
        if self.last_error:
            checks["last_error"] = self.last_error
        ready = (
            self.database_ok
            and self.nc.is_connected
            and self.streams is None
            and self.role in ("active", "standby")
        )
        return ready and not self.stalled, checks
