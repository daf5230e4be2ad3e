"""Reading the events stream: a durable pull consumer positioned from PostgreSQL's checkpoint.

The checkpoint is the truth, not the consumer's state on the server: every time the
projector becomes active (or must resynchronise) it deletes the durable consumer and
creates it again starting at checkpoint + 1.
"""
from __future__ import annotations

import asyncio
import logging

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from tonypi_events import StreamNames, decode

from .batch import StreamEvent

log = logging.getLogger(__name__)


class EventSource:
    def __init__(self, js: JetStreamContext, streams: StreamNames, consumer: str, *,
                 batch_size: int, fetch_timeout: float, durable: bool = True) -> None:
        self.js, self.streams, self.consumer = js, streams, consumer
        self.batch_size, self.fetch_timeout, self.durable = batch_size, fetch_timeout, durable
        self._sub: JetStreamContext.PullSubscription | None = None

    async def open(self, start_seq: int) -> None:
        """(Re)create the consumer so its next message is `start_seq` (or the first still held)."""
        await self.close()
        if self.durable:
            try:
                await self.js.delete_consumer(self.streams.events, self.consumer)
            except NotFoundError:
                pass
        config = consumer_config(start_seq, self.batch_size)
        self._sub = await self.js.pull_subscribe(
            self.streams.subjects.events_wildcard, durable=self.consumer if self.durable else None,
            stream=self.streams.events, config=config)

    async def close(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # connection already gone: nothing to release
                pass
            self._sub = None

    async def fetch(self) -> list[Msg]:
        assert self._sub is not None, "open() first"
        try:
            return await self._sub.fetch(self.batch_size, timeout=self.fetch_timeout)
        except (asyncio.TimeoutError, nats.errors.TimeoutError):
            return []

    async def bounds(self) -> tuple[int, int]:
        """(first, last) sequence the stream holds now."""
        info = await self.js.stream_info(self.streams.events)
        return info.state.first_seq, info.state.last_seq


def consumer_config(start_seq: int, batch_size: int) -> ConsumerConfig:
    return ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(1, start_seq),
        ack_policy=AckPolicy.ALL,  # one ack after each commit covers the whole batch
        ack_wait=60,
        max_ack_pending=max(10_000, batch_size * 4),
        description="tonypi projector: read tables fold (position owned by PostgreSQL's checkpoint)",
    )


def to_stream_event(msg: Msg) -> StreamEvent:
    seq = msg.metadata.sequence.stream
    try:
        return StreamEvent(seq, msg.data, decode(msg.data))
    except Exception as exc:  # undecodable bytes become a dead letter, not a crash
        return StreamEvent(seq, msg.data, None, f"{type(exc).__name__}: {exc}")
