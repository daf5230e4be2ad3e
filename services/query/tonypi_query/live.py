"""The live feed as Server-Sent Events (docs/live.md).

The projector writes one `live_feed` record per applied event in the batch's transaction.
Each replica runs one `FeedHub`: when the projector's checkpoint moves (LISTEN/NOTIFY, with
the watcher's poll as fallback) it reads the new records once, encodes each record's frame
once, and hands every subscriber the records of that read it wants as one `Chunk`: their
frames joined once per filter (subscribers filtering alike share the bytes). A subscriber's
handler writes whatever chunks have arrived in one socket write. A subscriber that falls
`SSE_CLIENT_BUFFER` records behind is cut off (its connection aborted): the hub never waits
for a client.

Resuming: a client sends `Last-Event-ID` (the stream sequence of the last record it got).
It subscribes first, so the hub queues everything after the hub's position at that moment,
then reads the records between its Last-Event-ID and that position from the table, then
drains its queue: no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from aiohttp import web
from tonypi_events.live_feed import visible_event_types

from . import metrics
from .checkpoint import CheckpointWatcher
from .errors import RequestValidationError, Unavailable

log = logging.getLogger(__name__)

PAGE = 500
_SELECT = "SELECT seq, robot_id, event_type, kinds, at, data::text AS data FROM live_feed"


@dataclass(frozen=True)
class Record:
    seq: int
    robot_id: str
    event_type: str
    kinds: frozenset[str]
    frame: bytes  # the SSE frame, encoded once for every client


def frame(row: asyncpg.Record) -> Record:
    head = json.dumps(
        {
            "seq": row["seq"],
            "robot_id": row["robot_id"],
            "kinds": list(row["kinds"]),
            "at": row["at"].isoformat(),
        }
    )
    body = head[:-1] + ', "data": ' + row["data"] + "}"  # the stored JSON, not decoded and re-encoded
    text = f"id: {row['seq']}\nevent: {row['event_type']}\ndata: {body}\n\n"
    return Record(row["seq"], row["robot_id"], row["event_type"], frozenset(row["kinds"]), text.encode())


@dataclass(frozen=True)
class Chunk:
    """The records of one hub read that a subscriber wants, in order, and their frames joined
    (built once per filter, shared by every subscriber with that filter)."""

    records: tuple[Record, ...]
    frames: bytes

    @classmethod
    def of(cls, records: Sequence[Record]) -> Chunk:
        return cls(tuple(records), b"".join(r.frame for r in records))

    def after(self, sent: int) -> Chunk:
        """The part of this chunk past `sent` (all of it, as a rule: only a client resuming
        ahead of the hub's position meets records it already has)."""
        if self.records[0].seq > sent:
            return self
        return Chunk.of([r for r in self.records if r.seq > sent])


@dataclass(eq=False)
class Subscriber:
    robot_id: str | None
    kinds: frozenset[str]
    capacity: int  # records queued at most: one more and the subscriber is dropped
    # The event types the caller's role may see (tonypi_events.live_feed): records of others,
    # and of types no longer published (token events a v1 projector fed), are never sent.
    event_types: frozenset[str] = field(default_factory=lambda: visible_event_types(None))
    start: int = 0  # the hub's position when it subscribed: records after it come by the queue
    queue: asyncio.Queue = field(init=False)  # chunks, then None when the hub stops
    queued: int = 0  # records queued or being written: never more than `capacity`
    dropped: bool = False
    transport: asyncio.Transport | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue()  # bounded by `queued` (records), not by chunks

    @property
    def filter(self) -> tuple:
        """What decides which records this subscriber wants (equal filters share a chunk)."""
        return self.robot_id, self.kinds, self.event_types

    def wants(self, record: Record) -> bool:
        return (
            record.event_type in self.event_types
            and (self.robot_id is None or record.robot_id == self.robot_id)
            and (not self.kinds or not self.kinds.isdisjoint(record.kinds))
        )

    def offer(self, chunk: Chunk) -> None:
        if self.dropped or not chunk.records:
            return
        if self.queued + len(chunk.records) > self.capacity:
            self.drop()
            return
        self.queued += len(chunk.records)
        self.queue.put_nowait(chunk)

    def written(self, chunks: Sequence[Chunk]) -> None:
        """The handler wrote `chunks` (taken off the queue): a write blocked on a client that
        does not read still counts against its buffer, so that client is dropped in time."""
        self.queued -= sum(len(c.records) for c in chunks)

    def end(self) -> None:
        """The replica is stopping: wake the handler so its stream ends now, not at the next
        heartbeat (records still queued are left: the client resumes)."""
        self.dropped = True
        self.queue.put_nowait(None)

    def drop(self) -> None:
        """Too slow: cut the connection so its handler stops, whatever it is waiting on."""
        self.dropped = True
        metrics.SSE_DROPPED.inc()
        log.warning(
            "SSE client %d records behind: disconnected (it may resume with Last-Event-ID)", self.capacity
        )
        if self.transport is not None:
            self.transport.abort()


class FeedHub:
    def __init__(self, pool: asyncpg.Pool, checkpoint: CheckpointWatcher, max_clients: int) -> None:
        self._pool, self._checkpoint, self._max_clients = pool, checkpoint, max_clients
        self.position = 0  # every record up to here has been handed out
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self.position = await self._checkpoint.read()
        self._task = asyncio.create_task(self._follow(), name="live-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for sub in list(self._subscribers):
            sub.end()
            if sub.transport is not None:
                sub.transport.close()

    def subscribe(self, sub: Subscriber) -> Subscriber:
        if len(self._subscribers) >= self._max_clients:
            metrics.SSE_REFUSED.inc()
            raise Unavailable("This replica serves as many live-feed clients as it may; retry or use another")
        sub.start = self.position
        self._subscribers.add(sub)
        metrics.SSE_CLIENTS.set(len(self._subscribers))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        metrics.SSE_CLIENTS.set(len(self._subscribers))

    def hand_out(self, records: list[Record]) -> None:
        """Offer every subscriber the records it wants, as one chunk per filter."""
        chunks: dict[tuple, Chunk] = {}
        for sub in list(self._subscribers):
            chunk = chunks.get(sub.filter)
            if chunk is None:
                chunk = chunks[sub.filter] = Chunk.of([r for r in records if sub.wants(r)])
            sub.offer(chunk)

    async def records(self, after: int, upto: int, sub: Subscriber) -> list[Record]:
        """Up to PAGE records in (after, upto] that `sub` wants, from the table."""
        sql = f"{_SELECT} WHERE seq > $1 AND seq <= $2 AND event_type = ANY($3::varchar[])"
        args: list = [after, upto, sorted(sub.event_types)]
        if sub.robot_id is not None:
            args.append(sub.robot_id)
            sql += f" AND robot_id = ${len(args)}"
        if sub.kinds:
            args.append(sorted(sub.kinds))
            sql += f" AND kinds && ${len(args)}::varchar[]"
        rows = await self._pool.fetch(f"{sql} ORDER BY seq LIMIT {PAGE}", *args)
        return [frame(r) for r in rows]

    async def oldest(self) -> int | None:
        return await self._pool.fetchval("SELECT min(seq) FROM live_feed")

    async def _follow(self) -> None:
        while True:
            try:
                if not await self._checkpoint.wait_for(self.position + 1, 5.0):
                    continue
                target = self._checkpoint.latest
                if target < self.position:  # a replay swapped in a younger table: start over from it
                    self.position = target
                    continue
                rows = await self._pool.fetch(
                    f"{_SELECT} WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT {PAGE}", self.position, target
                )
                self.hand_out([frame(row) for row in rows])
                self.position = rows[-1]["seq"] if len(rows) == PAGE else target
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: try again, clients keep their place
                log.warning(
                    "live feed: reading new records failed (%s: %s); retrying", type(exc).__name__, exc
                )
                await asyncio.sleep(1.0)


def last_event_id(request: web.Request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise RequestValidationError(
            [
                {
                    "loc": ["header", "Last-Event-ID"],
                    "msg": "must be a stream sequence (digits)",
                    "type": "int_parsing",
                }
            ]
        )
    return int(raw)


async def stream_events(
    request: web.Request,
    hub: FeedHub,
    robot_id: str | None,
    kinds: frozenset[str],
    buffer: int,
    heartbeat: float,
    role: str | None,
) -> web.StreamResponse:
    after = last_event_id(request)
    sub = hub.subscribe(Subscriber(robot_id, kinds, buffer, visible_event_types(role)))
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        sub.transport = request.transport
        await response.write(b"retry: 1000\n\n")
        sent = sub.start if after is None else after
        if after is None:
            # Where this stream starts, as an id-only block (no event is dispatched): a client
            # that drops before its first record resumes from here, not from "now" again.
            await response.write(f"id:{sub.start}\n\n".encode())
        if after is not None:
            oldest = await hub.oldest()
            if oldest is not None and after + 1 < oldest:
                gap = {"from": after + 1, "to": oldest - 1}
                await response.write(f"event: gap\ndata: {json.dumps(gap)}\n\n".encode())
            while sent < sub.start:  # catch up from the table, then the queue takes over
                page = await hub.records(sent, sub.start, sub)
                if page:
                    await response.write(Chunk.of(page).frames)
                    metrics.SSE_RECORDS.inc(len(page))
                sent = page[-1].seq if len(page) == PAGE else sub.start
        while not sub.dropped:
            try:
                first = await asyncio.wait_for(sub.queue.get(), heartbeat)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            chunks = [first]  # and every chunk that came meanwhile: one write for them all
            while chunks[-1] is not None and not sub.queue.empty():
                chunks.append(sub.queue.get_nowait())
            ending = chunks[-1] is None  # the hub is stopping
            taken = chunks[:-1] if ending else chunks
            fresh = []
            for chunk in taken:
                if chunk.records[-1].seq > sent:
                    fresh.append(chunk.after(sent))
                    sent = chunk.records[-1].seq
            if fresh:
                await response.write(b"".join(c.frames for c in fresh))
                metrics.SSE_RECORDS.inc(sum(len(c.records) for c in fresh))
            sub.written(taken)
            if ending:
                break
        return response
    finally:
        hub.unsubscribe(sub)
