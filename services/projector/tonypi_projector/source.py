"""Reading the events stream: a pull consumer positioned from PostgreSQL's checkpoint.

The checkpoint is the truth, not the consumer's state on the server: every time the
projector becomes active (or must resynchronise) it deletes its durable consumer and
creates it again starting at checkpoint + 1.

Batches are pulled with JetStream's pull API directly into a subscription callback:
nats-py's `fetch` awaits each message through its own timeout task, which cost more
than folding the event did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import NamedTuple

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from tonypi_events import StreamNames, Subjects, decode
from tonypi_events.authority import subject_problem

from .batch import StreamEvent

log = logging.getLogger(__name__)

STATUS_HEADER = "Status"
_IDLE_HEARTBEAT = "100"
_END_OF_REQUEST = ("404", "408")  # no messages now / the request expired


DECODE_CHUNK = 50  # events decoded between two turns of the event loop (about 0.4 ms)


class Fetched(NamedTuple):
    """A batch as fetched (`msgs`, to acknowledge) and decoded (`events`, to apply)."""

    msgs: list[Msg]
    events: list[StreamEvent]


class ConsumerGone(Exception):
    """The server ended the pull with an error (the consumer was deleted, for one)."""


class EventSource:
    def __init__(
        self,
        nc: NATS,
        streams: StreamNames,
        consumer: str,
        *,
        batch_size: int,
        fetch_timeout: float,
        durable: bool = True,
    ) -> None:
        self.nc, self.js, self.streams = nc, nc.jetstream(), streams
        self.consumer, self.durable = consumer, durable
        self.batch_size, self.fetch_timeout = batch_size, fetch_timeout
        self._name: str | None = None
        self._sub: Subscription | None = None
        self._inbox = ""
        self._received: list[Msg] = []
        self._wanted = 0
        self._done = asyncio.Event()
        self._error: str | None = None

    async def open(self, start_seq: int) -> None:
        """(Re)create the consumer so its next message is `start_seq` (or the first still held)."""
        await self.close()
        config = consumer_config(start_seq, self.batch_size, acked=self.durable)
        if self.durable:
            with contextlib.suppress(NotFoundError):
                await self.js.delete_consumer(self.streams.events, self.consumer)
            config.durable_name = self.consumer
        config.filter_subject = self.streams.subjects.events_wildcard
        info = await self.js.add_consumer(self.streams.events, config)
        self._name = info.name
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(self._inbox, cb=self._on_message)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):  # connection already gone: nothing to release
                await self._sub.unsubscribe()
            self._sub = None
        if self._name is not None and not self.durable:
            with contextlib.suppress(Exception):  # ephemeral: the server drops it anyway when idle
                await self.js.delete_consumer(self.streams.events, self._name)
        self._name = None

    async def _on_message(self, msg: Msg) -> None:
        status = msg.headers.get(STATUS_HEADER) if msg.headers else None
        if status is None:
            self._received.append(msg)
            if len(self._received) >= self._wanted:
                self._done.set()
        elif status in _END_OF_REQUEST:
            self._done.set()
        elif status != _IDLE_HEARTBEAT:
            self._error = f"{status} {msg.headers.get('Description', '')}".strip()
            self._done.set()

    async def _pull(self, batch: int, *, wait: float | None) -> None:
        """Ask for up to `batch` messages: what is there now (wait=None), or the first to arrive
        within `wait` seconds. Returns when the server ends the request or the batch is full."""
        self._wanted = len(self._received) + batch
        self._done.clear()
        request = (
            {"batch": batch, "no_wait": True}
            if wait is None
            else {"batch": batch, "expires": int(wait * 1e9)}
        )
        await self.nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.streams.events}.{self._name}",
            json.dumps(request).encode(),
            reply=self._inbox,
        )
        with contextlib.suppress(TimeoutError):  # no answer (a reconnect): the caller simply pulls again
            await asyncio.wait_for(self._done.wait(), (wait or 0) + 5)
        if self._error:
            error, self._error = self._error, None
            raise ConsumerGone(f"pull from {self.streams.events} ended: {error}")

    async def fetch(self) -> list[Msg]:
        """The next batch: up to batch_size messages already waiting; if none, the first one to
        arrive within fetch_timeout plus whatever came with it. Empty when the stream is quiet."""
        assert self._sub is not None, "open() first"
        self._received = []
        await self._pull(self.batch_size, wait=None)
        if not self._received:
            await self._pull(1, wait=self.fetch_timeout)
            if self._received and self.batch_size > 1:
                await self._pull(self.batch_size - 1, wait=None)
        return self._received

    async def batches(self) -> AsyncIterator[Fetched]:
        """fetch() again and again, each batch decoded as it arrives, the next one already on
        its way while the caller applies this one: the network and the decoding (a tenth of
        the projector's CPU) overlap the caller's waits on PostgreSQL."""
        pending = asyncio.ensure_future(self._fetch_decoded())
        try:
            while True:
                fetched = await pending
                pending = asyncio.ensure_future(self._fetch_decoded())
                yield fetched
        finally:
            pending.cancel()

    async def _fetch_decoded(self) -> Fetched:
        # A copy: a late reply to a pull that timed out (around a reconnect) may still append
        # to fetch()'s list, and a message acknowledged must be one decoded and applied.
        msgs = list(await self.fetch())
        events: list[StreamEvent] = []
        for start in range(0, len(msgs), DECODE_CHUNK):
            await asyncio.sleep(0)  # in slices, each in one of the caller's waits on PostgreSQL
            events.extend(
                to_stream_event(m, self.streams.subjects) for m in msgs[start : start + DECODE_CHUNK]
            )
        return Fetched(msgs, events)

    async def bounds(self) -> tuple[int, int]:
        """(first, last) sequence the stream holds now."""
        info = await self.js.stream_info(self.streams.events)
        return info.state.first_seq, info.state.last_seq


def consumer_config(start_seq: int, batch_size: int, acked: bool = True) -> ConsumerConfig:
    return ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(1, start_seq),
        # Live: one ack after each commit covers the whole batch. A replay's throwaway
        # consumer acks nothing: its position lives in the staging checkpoint.
        ack_policy=AckPolicy.ALL if acked else AckPolicy.NONE,
        ack_wait=60,
        max_ack_pending=max(10_000, batch_size * 4),
        inactive_threshold=None if acked else 300.0,
        description="tonypi projector: read tables fold (position owned by PostgreSQL's checkpoint)",
    )


def to_stream_event(msg: Msg, subjects: Subjects) -> StreamEvent:
    """Undecodable bytes, and an envelope its subject does not vouch for (a forgery:
    tonypi_events.authority), become dead letters, never applied and never a crash."""
    seq = msg.metadata.sequence.stream
    try:
        event = decode(msg.data)
    except Exception as exc:
        return StreamEvent(seq, msg.data, None, f"{type(exc).__name__}: {exc}")
    problem = subject_problem(msg.subject, event, subjects)
    if problem is not None:
        return StreamEvent(seq, msg.data, None, problem, claimed=event)
    return StreamEvent(seq, msg.data, event)
