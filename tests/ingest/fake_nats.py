"""In-memory stand-ins for ingest's NATS side, for the fast tests: a JetStream that stores
what the forwarder publishes (de-duplicating on `Nats-Msg-Id`), a client and a link."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass
class PubAck:
    stream: str
    seq: int
    duplicate: bool = False


class FakeJetStream:
    """Stores what is published (a `Nats-Msg-Id` seen before is a duplicate, as within
    JetStream's window). `hold = True` keeps the acks back until `release()`."""

    def __init__(self) -> None:
        self.stored: list[tuple[str, bytes, dict[str, str]]] = []
        self.hold = False
        self._held: list[tuple[asyncio.Future, str, bytes, dict[str, str]]] = []
        self._ids: set[tuple[str, str]] = set()

    async def publish_async(self, subject: str, payload: bytes = b"", headers: dict | None = None, **_):
        future = asyncio.get_running_loop().create_future()
        if self.hold:
            self._held.append((future, subject, payload, headers or {}))
        else:
            self._store(future, subject, payload, headers or {})
        return future

    async def publish(self, subject: str, payload: bytes = b"", headers: dict | None = None, **_) -> PubAck:
        return await (await self.publish_async(subject, payload, headers))

    @property
    def unanswered(self) -> int:
        return len(self._held)

    def release(self) -> None:
        self.hold = False
        held, self._held = self._held, []
        for item in held:
            self._store(*item)

    def _store(self, future: asyncio.Future, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        # Ids are unique per stream: `<prefix>.events.…` and `<prefix>.deadletter.…` are two.
        msg_id = headers.get("Nats-Msg-Id")
        key = (subject.split(".")[1], msg_id)
        duplicate = msg_id is not None and key in self._ids
        if not duplicate:
            if msg_id is not None:
                self._ids.add(key)
            self.stored.append((subject, payload, headers))
        future.set_result(PubAck("fake", len(self.stored), duplicate))


class FakeNats:
    max_payload = 1024 * 1024
    is_connected = True

    def __init__(self, js: FakeJetStream) -> None:
        self._js = js

    def jetstream(self) -> FakeJetStream:
        return self._js


class FakeLink:
    """Stands in for `NatsLink`: connected at once, the streams there."""

    def __init__(self, js: FakeJetStream, on_available) -> None:
        self.nc: FakeNats | None = None
        self._js, self._on_available = js, on_available
        self.missing = 0

    @property
    def connected(self) -> bool:
        return self.nc is not None

    @property
    def state(self) -> str:
        return "reachable" if self.nc is not None else "unreachable"

    async def connect(self) -> FakeNats:
        self.nc = FakeNats(self._js)
        self._on_available()
        return self.nc

    def stream_missing(self) -> None:
        self.missing += 1

    async def close(self) -> None:
        self.nc = None
