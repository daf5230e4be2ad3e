"""The NATS side: connect with backoff, wait for the streams, report connection state.

Ingest never creates a stream (its NATS user may not): an admin declares them (`tonypi
streams declare`). Until both exist, and again whenever a publish finds none (deleted, or a
server restarted without its store), ingest looks them up every few seconds, buffering what
robots send, and /readyz names the stream that is missing.

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
from tonypi_events import StreamNames
from tonypi_runtime.config import ServiceUrl
from tonypi_runtime.logs import Throttled
from tonypi_runtime.nats_client import connect_nats, wait_for_streams

from . import metrics

log = logging.getLogger("tonypi_ingest.nats")


class NatsLink:
    def __init__(self, url: ServiceUrl, streams: StreamNames, on_available: Callable[[], None]) -> None:
        self._url, self._streams, self._on_available = url, streams, on_available
        self.nc: NatsClient | None = None
        self.streams_ready = False
        self.streams_problem: str | None = "not looked up yet"
        self._closing = False
        self._looking: asyncio.Task | None = None
        self._replacing: asyncio.Task | None = None
        self._throttled = Throttled(log, interval_s=30)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected and self.streams_ready

    @property
    def state(self) -> str:
        """For /readyz: `reachable`, `unreachable`, or which stream is missing."""
        if self.nc is None or not self.nc.is_connected:
            return "unreachable"
        return "reachable" if self.streams_ready else self.streams_problem or "streams not looked up yet"

    async def connect(self) -> NatsClient:
        """Connect (retrying with backoff until it works) and wait for the streams."""

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
        await self._wait_for_streams()
        log.info(
            "connected to NATS at %s; streams %s and %s ready",
            self._url.redacted,
            self._streams.events,
            self._streams.dead_letter,
        )
        return self.nc

    def _report(self, problem: str | None) -> None:
        self.streams_problem = problem

    async def _wait_for_streams(self) -> None:
        assert self.nc is not None
        self.streams_ready = False
        await wait_for_streams(self.nc.jetstream(), self._streams, log, self._report)
        self.streams_ready = True
        self._on_available()

    def stream_missing(self) -> None:
        """A publish found no stream (deleted, or a server restarted without its store): hold
        publishing and look the streams up until an admin declares them again."""
        if self.nc is not None and (self._looking is None or self._looking.done()):
            log.warning("stream %s missing: holding publishes until it is declared", self._streams.events)
            self._looking = asyncio.create_task(self._wait_for_streams())

    async def _disconnected(self) -> None:
        metrics.NATS_CONNECTED.set(0)
        if not self._closing:
            log.warning("NATS connection lost; buffering events until it is back")

    async def _reconnected(self) -> None:
        metrics.NATS_CONNECTED.set(1)
        log.info("NATS connection restored")
        # A server restarted without its store has lost the streams: a publish finds out
        # (no stream answers it) and holds the rest until an admin declares them again.
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
        for task in (self._replacing, self._looking):
            if task is not None:
                task.cancel()
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 5)
            except (TimeoutError, nats.errors.Error):
                await self.nc.close()
