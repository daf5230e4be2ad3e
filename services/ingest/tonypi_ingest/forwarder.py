"""Publishing events to JetStream: pipelined, buffered while NATS is away, retried until acked.

A message counts as ingested only once JetStream acknowledged it. Up to `max_in_flight`
publishes await their acks at once (one round trip serves many), never one at a time.
Anything unacknowledged after `ack_timeout_s`, or refused, goes back to the front of the
buffer and is sent again with the same `Nats-Msg-Id`, so a publish that did land but
whose ack was lost is not stored twice (within the stream's duplicate window).

Each item ends in `on_done(stored)`: True once JetStream acknowledged it, False if it can
never be stored (JetStream answered 400, or it exceeds the server's max_payload: sending
it would make the server close the connection). Never retried forever, never left hanging.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError
from tonypi_runtime.logs import Throttled

from . import metrics

Done = Callable[[bool], None]  # called once per item: True stored, False refused for good
log = logging.getLogger("tonypi_ingest.forwarder")


@dataclass(slots=True, eq=False)
class Outgoing:
    subject: str
    data: bytes
    headers: dict[str, str]
    kind: str  # metric label
    received: float  # monotonic time the MQTT message arrived
    on_done: Done | None = None
    sent_at: float = field(default=0.0)
    attempts: int = field(default=0)

    def wire_size(self) -> int:
        """Bytes the server counts against max_payload: the data and the header block."""
        return len(self.data) + 12 + sum(len(k) + len(v.encode()) + 4 for k, v in self.headers.items())


class Connection(Protocol):
    """Where the NATS connection comes from (NatsLink): absent until the first connect."""

    nc: NatsClient | None

    @property
    def connected(self) -> bool: ...

    def stream_missing(self) -> None: ...


# Headers of ingest's messages stay far below this; only bigger items are measured exactly.
_HEADER_ALLOWANCE = 8 * 1024


def _refused_for_good(error: BaseException) -> bool:
    """JetStream answered 400: this message will never be stored (too big, say). Anything
    else (timeouts, 503s, a missing stream about to be declared again) is worth retrying."""
    return isinstance(error, APIError) and error.code == 400


class JetStreamForwarder:
    """Messages offered before NATS was ever reached wait in the buffer like any others."""

    def __init__(
        self,
        link: Connection,
        *,
        capacity: int,
        max_in_flight: int,
        ack_timeout_s: float,
        linger_s: float = 0.002,
    ) -> None:
        self._link = link
        self._js: JetStreamContext | None = None
        self._nc: NatsClient | None = None  # the client `_js` belongs to: a new one gets a new context
        self._linger = linger_s
        self._capacity, self._max_in_flight, self._ack_timeout = capacity, max_in_flight, ack_timeout_s
        self._waiting: deque[Outgoing] = deque()
        self._in_flight: dict[asyncio.Future, Outgoing] = {}  # insertion order = send order
        self._wakeup = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._pause_until = 0.0
        self._throttled = Throttled(log)

    @property
    def depth(self) -> int:
        return len(self._waiting) + len(self._in_flight)

    def offer(self, *items: Outgoing) -> bool:
        """Queue items (all or none). False: the buffer is full, the items are dropped (counted, logged)."""
        if self.depth + len(items) > self._capacity:
            metrics.BUFFER_DROPPED.inc(len(items))
            self._throttled.error(
                "dropped",
                "buffer full (%d waiting for JetStream): dropping messages; NATS unreachable or too slow",
                self.depth,
            )
            return False
        self._waiting.extend(items)
        self._empty.clear()
        self._wakeup.set()
        return True

    async def drained(self, timeout: float) -> bool:
        """Wait until everything offered is acknowledged; False if `timeout` ran out first."""
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        sweeper = asyncio.create_task(self._expire_unacked())
        try:
            while True:
                await self._wakeup.wait()
                # MQTT hands over one message per loop turn; lingering a moment lets a batch
                # gather, so the NATS client writes it in one syscall instead of one each.
                if self._linger and len(self._waiting) < 64:
                    await asyncio.sleep(self._linger)
                self._wakeup.clear()
                await self._send_waiting()
        finally:
            sweeper.cancel()

    async def _send_waiting(self) -> None:
        while self._waiting and len(self._in_flight) < self._max_in_flight:
            if not self._link.connected:
                return  # the link wakes us when NATS is back
            nc = self._link.nc
            if self._js is None or self._nc is not nc:
                self._nc, self._js = nc, nc.jetstream()
            pause = self._pause_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            item = self._waiting.popleft()
            # The server closes a connection that sends more than its max_payload (headers
            # included): such an item is refused here, before it can do that.
            if len(item.data) + _HEADER_ALLOWANCE > nc.max_payload and item.wire_size() > nc.max_payload:
                self._refused(
                    item, f"{item.wire_size()} bytes exceed the server's max_payload {nc.max_payload}"
                )
                continue
            try:
                future = await self._js.publish_async(item.subject, item.data, headers=item.headers)
            except nats.errors.MaxPayloadError as exc:
                self._refused(item, exc)
                continue
            except (nats.errors.Error, OSError) as exc:
                self._waiting.appendleft(item)
                self._retry_later("send", exc)
                return
            item.sent_at = time.monotonic()
            item.attempts += 1
            self._in_flight[future] = item
            future.add_done_callback(self._settled)

    def _settled(self, future: asyncio.Future) -> None:
        item = self._in_flight.pop(future)
        error = None if future.cancelled() else future.exception()
        if error is not None and _refused_for_good(error):
            self._refused(item, error)
        elif future.cancelled() or error is not None:
            self._waiting.appendleft(item)
            metrics.PUBLISH_RETRIES.inc()
            if error is not None:
                if isinstance(error, NoStreamResponseError):
                    self._link.stream_missing()
                self._retry_later("ack", error)
        else:
            metrics.PUBLISHED_BY_KIND[item.kind].inc()
            metrics.PUBLISH_LATENCY.observe(time.monotonic() - item.received)
            self._acted_on(item, True)
        self._wakeup.set()

    def _refused(self, item: Outgoing, error: object) -> None:
        metrics.PUBLISH_REFUSED.inc()
        self._throttled.error(
            "refused", "JetStream refused %s for good (%s); dropping it", item.subject, error
        )
        self._acted_on(item, False)  # never storable: holding its MQTT ack would only jam the window

    def _acted_on(self, item: Outgoing, stored: bool) -> None:
        if item.on_done is not None:
            try:
                item.on_done(stored)
            except Exception:  # a failed MQTT ack or reply must not stall publishing
                log.exception("after-ack action failed for %s", item.subject)
        if not self._waiting and not self._in_flight:
            self._empty.set()

    def _retry_later(self, stage: str, error: BaseException) -> None:
        # Refusals (no stream, server errors) repeat until someone fixes them: don't spin.
        self._pause_until = time.monotonic() + 0.5
        self._throttled.warning(
            f"retry-{stage}", "JetStream publish failed (%s: %s); retrying", type(error).__name__, error
        )

    async def _expire_unacked(self) -> None:
        """Ack futures carry no deadline of their own: cancel the overdue ones so they are resent."""
        while True:
            await asyncio.sleep(min(0.25, self._ack_timeout / 4))
            deadline = time.monotonic() - self._ack_timeout
            overdue = []
            for future, item in self._in_flight.items():
                if item.sent_at > deadline:
                    break
                overdue.append(future)
            if overdue:
                self._throttled.warning(
                    "timeout",
                    "%d JetStream acks overdue (>%.1fs); resending",
                    len(overdue),
                    self._ack_timeout,
                )
                for future in reversed(overdue):  # appendleft in reverse keeps their order
                    future.cancel()
