"""The NATS connection writes publish through: opened in the background with backoff (the
service serves reads meanwhile), one log line per state change, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging

import nats
import nats.errors
from tonypi_runtime.nats_client import connect_nats, wait_for_streams

from .config import QuerySettings
from .writes import RobotWrites

log = logging.getLogger("tonypi_query")

CLOSE_TIMEOUT = 5.0


class EventStreamConnection:
    def __init__(self, settings: QuerySettings) -> None:
        self._settings = settings
        self._nc: nats.NATS | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def open(self, writes: RobotWrites) -> None:
        """Connect (retrying until NATS answers), wait until an admin has declared the streams
        (`tonypi streams declare`; /readyz names the missing one), hand JetStream to the writes."""
        self._nc = await connect_nats(
            self._settings.nats,
            "tonypi-query",
            log,
            connect_timeout=2,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        js = self._nc.jetstream()

        def report(problem: str | None) -> None:
            writes.waiting_for = problem

        await wait_for_streams(js, self._settings.streams, log, report)
        writes.attach(js, lambda: self.connected)
        log.info("writes enabled: events go to stream %s", self._settings.streams.events)

    async def close(self) -> None:
        self._closing = True
        if self._nc is None:
            return
        try:
            await asyncio.wait_for(self._nc.drain(), CLOSE_TIMEOUT)
        except (TimeoutError, nats.errors.Error):  # NATS away at shutdown: nothing to flush
            await self._nc.close()

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS: %s", exc or type(exc).__name__)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("NATS disconnected; writes answer 503 until it is back")

    async def _on_reconnected(self) -> None:
        log.info("NATS reconnected")
