"""The NATS side: connect with backoff, keep the streams declared, report connection state.

nats-py reconnects by itself after a lost connection, but a server `-ERR` (a protocol
violation such as "maximum control line exceeded", or an authorization error) closes the
client for good. Whenever a client closes while ingest is not stopping, a new one is
connected, with backoff, and the forwarder publishes through it (docs/ingest.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import nats.errors
from nats.aio.client import Client as NatsClient
from tonypi_events import StreamNames, StreamStorageExceeded, ensure_streams
from tonypi_runtime.config import ServiceUrl
from tonypi_runtime.logs import Throttled
from tonypi_runtime.nats_client import NATS_UNREACHABLE, connect_nats, declare_streams

from . import metrics

log = logging.getLogger("tonypi_ingest.nats")
# Declaring again while running: a server with no room for the streams is logged, not fatal.
NOT_DECLARED = (*NATS_UNREACHABLE, StreamStorageExceeded)


class NatsLink:
    def __init__(self, url: ServiceUrl, streams: StreamNames, on_available: Callable[[], None]) -> None:
        self._url, self._streams, self._on_available = url, streams, on_available
        self.nc: NatsClient | None = None
        self.streams_ready = False
        self._closing = False
        self._redeclaring: asyncio.Task | None = None
        self._replacing: asyncio.Task | None = None
        self._throttled = Throttled(log, interval_s=30)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected and self.streams_ready

    async def connect(self) -> NatsClient:
        """Connect (retrying with backoff until it works) and create-or-update the streams."""

        self.nc = await connect_nats(
            self._url,
            "tonypi-ingest",
            log,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            error_cb=self._error,
            closed_cb=self._closed,
        )
        metrics.NATS_CONNECTED.set(1)
        await self._ensure_streams()
        log.info(
            "connected to NATS at %s; streams %s and %s ready",
            self._url.redacted,
            self._streams.events,
            self._streams.dead_letter,
        )
        self._on_available()
        return self.nc

    async def _ensure_streams(self) -> None:
        assert self.nc is not None
        await declare_streams(self.nc.jetstream(), self._streams, log)
        self.streams_ready = True

    def stream_missing(self) -> None:
        """A publish found no stream (deleted while we were connected): declare it again, once at a time."""
        if self.nc is not None and (self._redeclaring is None or self._redeclaring.done()):
            self._redeclaring = asyncio.create_task(self._redeclare())

    async def _redeclare(self) -> None:
        log.warning("stream %s missing; declaring it again", self._streams.events)
        try:
            await asyncio.wait_for(ensure_streams(self.nc.jetstream(), self._streams), 5)
        except NOT_DECLARED as exc:
            log.warning("could not declare the streams (%s)", exc)
        await asyncio.sleep(1)  # at most one attempt a second

    async def _disconnected(self) -> None:
        metrics.NATS_CONNECTED.set(0)
        if not self._closing:
            log.warning("NATS connection lost; buffering events until it is back")

    async def _reconnected(self) -> None:
        metrics.NATS_CONNECTED.set(1)
        log.info("NATS connection restored")
        # A server restarted without its store has lost the streams: declare them again.
        try:
            await asyncio.wait_for(ensure_streams(self.nc.jetstream(), self._streams), 5)
        except NOT_DECLARED as exc:
            log.warning("could not re-declare streams after reconnect (%s); publishing anyway", exc)
        self._on_available()

    async def _closed(self) -> None:
        metrics.NATS_CONNECTED.set(0)
        if self._closing:
            return
        closed = self.nc
        error = getattr(closed, "last_error", None) if closed is not None else None
        log.error("NATS closed the connection for good (%s); connecting a new client", error)
        metrics.NATS_CLIENTS_REPLACED.inc()
        self.streams_ready = False
        if self._replacing is None or self._replacing.done():
            self._replacing = asyncio.create_task(self._replace(closed))

    async def _replace(self, closed: NatsClient | None) -> None:
        if self.nc is not closed:  # already replaced
            return
        await self.connect()

    async def _error(self, exc: Exception) -> None:
        # While NATS is down every reconnect attempt fails: one line per 30 s says so.
        self._throttled.warning(type(exc).__name__, "NATS: %s (reconnecting with backoff)", exc)

    async def close(self) -> None:
        self._closing = True
        if self._replacing is not None:
            self._replacing.cancel()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 5)
            except (TimeoutError, nats.errors.Error):
                await self.nc.close()
