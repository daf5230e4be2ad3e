"""In-memory stand-ins for ingest's MQTT port, for the fast tests: a broker whose
connections implement `tonypi_ingest.mqtt_port` (kept honest by test_mqtt_contract.py,
which runs the same tests against paho and Mosquitto). The NATS side: fake_nats.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from paho.mqtt.client import topic_matches_sub
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
from tonypi_ingest import metrics
from tonypi_ingest.inbox import Inbox
from tonypi_ingest.mqtt_port import V5, Connect, MqttError, MqttVersion, PublishRefused, Received


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (yielding to the loop) until `condition()` holds; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)


def _plain(filter_: str) -> str:
    """`$share/<group>/<filter>` matches like `<filter>` (the fake has one member per group)."""
    if filter_.startswith("$share/"):
        return filter_.split("/", 2)[2]
    return filter_


@dataclass
class _Session:
    """What the broker keeps for a client id across connections (a persistent session)."""

    filters: dict[str, int] = field(default_factory=dict)
    unacked: list[Received] = field(default_factory=list)  # sent, not acknowledged: sent again


class FakeBroker:
    def __init__(self, *, protocols: Sequence[MqttVersion] | None = None) -> None:
        self.protocols = set(protocols) if protocols is not None else None  # None: every one
        self.refused_filters: set[str] = set()
        # Topic filter -> the failure reason code the PUBACK of a publish there carries (MQTT 5:
        # 0x87 Not authorized is what Mosquitto's ACL answers); such a publish goes nowhere.
        self.refused_topics: dict[str, int] = {}
        self.refused: list[tuple[str, int]] = []  # (topic, reason code) of each publish refused
        self.reachable = True
        self.published: list[tuple[str, bytes]] = []  # what connections published (QoS 1)
        self.retained: dict[str, tuple[bytes, int]] = {}
        self.connections: list[FakeConnection] = []  # open ones
        self.attempts = 0  # connects tried
        self._sessions: dict[str, _Session] = {}
        self.peers: list[tuple[str, asyncio.Queue]] = []  # (filter, queue): a robot's subscription

    def connector(self, client_id: str | None = None) -> Connect:
        @asynccontextmanager
        async def connect(protocol: MqttVersion) -> AsyncIterator[FakeConnection]:
            self.attempts += 1
            if not self.reachable:
                raise MqttError("connection refused (fake broker unreachable)")
            if self.protocols is not None and protocol not in self.protocols:
                raise MqttError(f"the broker refused the connection: unsupported protocol {protocol}")
            session = self._sessions.setdefault(client_id, _Session()) if client_id else _Session()
            connection = FakeConnection(self, session, protocol)
            self.connections.append(connection)
            redeliver, session.unacked = session.unacked, []
            for message in redeliver:  # at once, as a broker does after its CONNACK
                connection._take(message.topic, message.payload, message.qos, False)
            try:
                yield connection
            finally:
                connection._close()
                self.connections.remove(connection)

        return connect

    @property
    def live(self) -> list[FakeConnection]:
        return [c for c in self.connections if not c.lost]

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """A robot publishes: every matching subscription gets it, at the lower QoS."""
        if retain:
            self.retained[topic] = (payload, qos)
        for connection in self.live:
            connection._deliver(topic, payload, qos)
        for session in self._sessions.values():  # persistent sessions with nobody connected
            if not any(c.session is session for c in self.live):
                granted = [q for f, q in session.filters.items() if topic_matches_sub(_plain(f), topic)]
                if granted and min(qos, max(granted)) > 0:
                    session.unacked.append(Received(topic, payload, 1, False))
        for filter_, queue in self.peers:
            if topic_matches_sub(filter_, topic):
                queue.put_nowait((topic, payload))

    def drop(self) -> None:
        """The broker goes away: every connection is lost."""
        for connection in self.live:
            connection._lose()

    def subscribe_peer(self, filter_: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self.peers.append((filter_, queue))
        return queue


class _Ticket:
    __slots__ = ("connection", "done")

    def __init__(self, connection: FakeConnection) -> None:
        self.connection, self.done = connection, False


class FakeConnection:
    def __init__(self, broker: FakeBroker, session: _Session, protocol: MqttVersion) -> None:
        self.broker, self.session, self.protocol = broker, session, protocol
        self.held = 0
        self.acked: list[Received] = []
        self._taking = True
        self._inbox: Inbox[Received] = Inbox()
        self._gone = asyncio.Event()
        self._closed = False

    @property
    def waiting(self) -> int:
        return len(self._inbox)

    @property
    def lost(self) -> bool:
        return self._gone.is_set()

    async def wait_lost(self) -> None:
        await self._gone.wait()

    async def subscribe(self, filters: Sequence[str], qos: int, *, skip_retained: bool = False) -> list[bool]:
        self._check()
        granted = [f not in self.broker.refused_filters for f in filters]
        for f, ok in zip(filters, granted, strict=True):
            if ok:
                self.session.filters[f] = qos
                if not (skip_retained and self.protocol is V5):  # MQTT 3.1.1 cannot be told
                    for topic, (payload, pub_qos) in self.broker.retained.items():
                        if topic_matches_sub(_plain(f), topic):
                            self._take(topic, payload, min(qos, pub_qos), True)
        await asyncio.sleep(0)  # a round trip's turn of the loop
        return granted

    async def unsubscribe(self, filters: Sequence[str]) -> None:
        self._check()
        for f in filters:
            self.session.filters.pop(f, None)
        await asyncio.sleep(0)

    def stop_taking(self) -> None:
        self._taking = False
        self._inbox.close()

    def messages(self) -> AsyncIterator[Received]:
        return self._inbox.items()

    def ack(self, message: Received) -> bool:
        ticket = message.ticket
        if (
            message.qos == 0
            or not isinstance(ticket, _Ticket)
            or ticket.connection is not self
            or ticket.done
        ):
            return False
        ticket.done = True
        self.held -= 1
        if self.lost or self._closed:
            return False
        self.session.unacked = [m for m in self.session.unacked if m is not message]
        self.acked.append(message)
        return True

    async def publish(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        code = self._publish(topic, payload)
        await asyncio.sleep(0)  # the PUBACK's round trip
        if code is not None:
            raise PublishRefused(topic, code, str(ReasonCode(PacketTypes.PUBACK, identifier=code)))

    def send(self, topic: str, payload: bytes) -> None:
        if self._publish(topic, payload) is not None:  # nobody waits for its PUBACK: counted
            metrics.REPLIES_REFUSED.inc()

    def _publish(self, topic: str, payload: bytes) -> int | None:
        """The broker takes a QoS 1 publish and routes it, or refuses it: its reason code."""
        self._check()
        for filter_, code in self.broker.refused_topics.items():
            if topic_matches_sub(filter_, topic):
                self.broker.refused.append((topic, code))
                return code
        self.broker.published.append((topic, payload))
        for filter_, queue in self.broker.peers:
            if topic_matches_sub(filter_, topic):
                queue.put_nowait((topic, payload))
        return None

    # --- the broker's side ---------------------------------------------------------------

    def _check(self) -> None:
        if self.lost or self._closed:
            raise MqttError("MQTT disconnected")

    def _deliver(self, topic: str, payload: bytes, qos: int) -> None:
        granted = [q for f, q in self.session.filters.items() if topic_matches_sub(_plain(f), topic)]
        if granted:
            self._take(topic, payload, min(qos, max(granted)), False)

    def _take(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        message = Received(topic, payload, qos, retain, _Ticket(self))
        if qos > 0:
            self.session.unacked.append(message)  # until acknowledged
        if not self._taking:
            return
        if qos > 0:
            self.held += 1
        self._inbox.put(message)

    def _lose(self) -> None:
        self._inbox.close()
        self._gone.set()

    def _close(self) -> None:
        self._closed = True
        self._inbox.close()
        self._gone.set()
