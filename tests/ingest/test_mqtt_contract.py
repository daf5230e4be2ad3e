"""One contract for ingest's MQTT port (`tonypi_ingest.mqtt_port`), run against the
in-memory fake the fast tests use and against the paho adapter on the real Mosquitto:
whatever the fast tests learn from the fake, the adapter does too. What an ACL refuses is
shown on a private Mosquitto of its own (tests/support/private_mosquitto.py)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiomqtt
import pytest
from tonypi_ingest import metrics
from tonypi_ingest.config import load_config
from tonypi_ingest.mqtt_paho import paho_connector
from tonypi_ingest.mqtt_port import V5, MqttError, PublishRefused, Received

from tests.conftest import EMBEDDED_AMQTT, MQTT_URL
from tests.support.private_mosquitto import private_mosquitto

from .fakes import FakeBroker

WAIT_S = 5.0
# Under the ACL below ingest may send commands but not emergency stops: the misconfiguration
# under which a stop the broker refused (MQTT 5 PUBACK 0x87) must not pass for one sent.
ALLOWED, DENIED = "tonypi/commands/r1", "tonypi/emergency_stop/r1"
ACL = "user ingest\ntopic read tonypi/#\ntopic write tonypi/commands/#\n"
NOT_AUTHORIZED = 0x87


async def take(connection, count: int) -> list[Received]:
    """The next `count` messages (fails after WAIT_S)."""
    out: list[Received] = []
    async with asyncio.timeout(WAIT_S):
        async for message in connection.messages():
            out.append(message)
            if len(out) == count:
                break
    return out


class MqttPortContract:
    """Fixtures each backend provides: `open_connection(persistent_id=None)` (an async
    context manager factory), `peer_publish(topic, payload, qos, retain)`,
    `peer_messages(filter)` (an async context manager yielding a queue), `topic_prefix`,
    and `open_under_acl()`: a connection to a broker whose ACL is `ACL` above."""

    async def test_messages_arrive_in_order_with_their_flags_and_each_is_acked_once(
        self, open_connection, peer_publish, topic_prefix
    ):
        async with open_connection() as connection:
            assert await connection.subscribe([topic_prefix + "a/#"], 1) == [True]
            for n in range(5):
                await peer_publish(f"{topic_prefix}a/{n}", f"m{n}".encode(), qos=1)
            await peer_publish(topic_prefix + "a/zero", b"q0", qos=0)
            messages = await take(connection, 6)
            assert [(m.topic, m.payload, m.qos, m.retain) for m in messages] == [
                *((f"{topic_prefix}a/{n}", f"m{n}".encode(), 1, False) for n in range(5)),
                (topic_prefix + "a/zero", b"q0", 0, False),
            ]
            assert connection.held == 5
            assert connection.ack(messages[0]) is True
            assert connection.ack(messages[0]) is False  # once only
            assert connection.ack(messages[5]) is False  # QoS 0: nothing to acknowledge
            assert connection.held == 4

    async def test_subscribing_without_retained_messages_skips_them(
        self, open_connection, peer_publish, topic_prefix
    ):
        topic = topic_prefix + "kept/1"
        await peer_publish(topic, b"old", qos=1, retain=True)
        try:
            async with open_connection() as connection:
                await connection.subscribe([topic_prefix + "kept/#"], 1, skip_retained=True)
                await connection.subscribe([topic_prefix + "other/#"], 1)  # a round trip after
                await peer_publish(topic, b"new", qos=1)
                (message,) = await take(connection, 1)
                assert (message.payload, message.retain) == (b"new", False)
            async with open_connection() as connection:
                await connection.subscribe([topic_prefix + "kept/#"], 1)
                (message,) = await take(connection, 1)
                assert (message.payload, message.retain) == (b"old", True)
        finally:
            await peer_publish(topic, b"", qos=1, retain=True)  # clears the retained message

    async def test_publish_returns_once_the_broker_has_it_and_send_queues_it(
        self, open_connection, peer_messages, topic_prefix
    ):
        async with peer_messages(topic_prefix + "out/#") as received, open_connection() as connection:
            await connection.publish(topic_prefix + "out/1", b"waited")
            connection.send(topic_prefix + "out/2", b"queued")
            async with asyncio.timeout(WAIT_S):
                got = [await received.get(), await received.get()]
        assert got == [(topic_prefix + "out/1", b"waited"), (topic_prefix + "out/2", b"queued")]

    async def test_a_publish_the_broker_refuses_raises_its_reason_and_the_connection_stays(
        self, open_under_acl
    ):
        async with open_under_acl() as connection:
            with pytest.raises(PublishRefused) as refused:
                await connection.publish(DENIED, b"stop")
            assert (refused.value.topic, refused.value.code) == (DENIED, NOT_AUTHORIZED)
            assert str(refused.value) == f"the broker refused the publish on {DENIED}: Not authorized (0x87)"
            before = metrics.REPLIES_REFUSED._value.get()
            connection.send(DENIED, b"stop")  # nobody waits for it: nothing raised, but counted
            await connection.publish(ALLOWED, b"go")  # Mosquitto: 0x10 No matching subscribers
            assert not connection.lost
            assert metrics.REPLIES_REFUSED._value.get() - before == 1  # PUBACKs come in order

    async def test_after_the_unsuback_every_message_sent_before_is_taken(
        self, open_connection, peer_publish, topic_prefix
    ):
        async with open_connection() as connection:
            await connection.subscribe([topic_prefix + "u/#"], 1)
            for n in range(10):  # each acknowledged by the broker: routed to the subscription
                await peer_publish(f"{topic_prefix}u/{n}", b"x", qos=1)
            await connection.unsubscribe([topic_prefix + "u/#"])
            connection.stop_taking()
            taken = [m async for m in connection.messages()]  # ends: nothing more is taken
            assert [m.topic for m in taken] == [f"{topic_prefix}u/{n}" for n in range(10)]

    async def test_a_closed_connection_yields_what_it_took_then_ends_and_refuses_the_rest(
        self, open_connection, peer_publish, topic_prefix
    ):
        async with open_connection() as connection:
            await connection.subscribe([topic_prefix + "c/#"], 1)
            await peer_publish(topic_prefix + "c/1", b"x", qos=1)
            async with asyncio.timeout(WAIT_S):
                while connection.waiting == 0:
                    await asyncio.sleep(0.01)
        taken = [m async for m in connection.messages()]
        assert [m.payload for m in taken] == [b"x"]
        assert connection.ack(taken[0]) is False  # its PUBACK belonged to that connection
        with pytest.raises(MqttError):
            await connection.publish(topic_prefix + "c/out", b"y")
        with pytest.raises(MqttError):
            connection.send(topic_prefix + "c/out", b"y")

    async def test_a_persistent_session_gets_again_what_it_did_not_acknowledge(
        self, open_connection, peer_publish, topic_prefix
    ):
        session = f"contract-{uuid.uuid4().hex[:10]}"
        async with open_connection(session) as connection:
            await connection.subscribe([topic_prefix + "p/#"], 1)
            await peer_publish(topic_prefix + "p/acked", b"a", qos=1)
            await peer_publish(topic_prefix + "p/unacked", b"b", qos=1)
            acked, _unacked = await take(connection, 2)
            assert connection.ack(acked)
        await peer_publish(topic_prefix + "p/away", b"c", qos=1)  # nobody connected: kept
        async with open_connection(session) as connection:
            again = await take(connection, 2)
            assert [m.payload for m in again] == [b"b", b"c"]
            for message in again:
                connection.ack(message)
            await connection.unsubscribe([topic_prefix + "p/#"])


class TestFakeBroker(MqttPortContract):
    @pytest.fixture
    def broker(self) -> FakeBroker:
        return FakeBroker()

    @pytest.fixture
    def topic_prefix(self) -> str:
        return "t/"

    @pytest.fixture
    def open_connection(self, broker):
        return lambda persistent_id=None: broker.connector(persistent_id)(V5)

    @pytest.fixture
    def open_under_acl(self):
        broker = FakeBroker()
        broker.refused_topics = {"tonypi/emergency_stop/#": NOT_AUTHORIZED}
        return lambda: broker.connector()(V5)

    @pytest.fixture
    def peer_publish(self, broker):
        async def publish(topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
            broker.publish(topic, payload, qos, retain)
            await asyncio.sleep(0)

        return publish

    @pytest.fixture
    def peer_messages(self, broker):
        @asynccontextmanager
        async def subscribed(filter_: str) -> AsyncIterator[asyncio.Queue]:
            yield broker.subscribe_peer(filter_)

        return subscribed


@pytest.mark.skipif(EMBEDDED_AMQTT, reason="MQTT 5 sessions and retain handling: Mosquitto's")
@pytest.mark.integration  # the ACL cases start a Mosquitto of their own
class TestPahoOnMosquitto(MqttPortContract):
    @pytest.fixture
    def open_under_acl(self):
        password = uuid.uuid4().hex
        with private_mosquitto(ACL, {"ingest": password}) as port:
            env = {
                "MQTT_URL": f"mqtt://127.0.0.1:{port}",
                "MQTT_USERNAME": "ingest",
                "MQTT_PASSWORD": password,
            }
            yield lambda: paho_connector(load_config(env))(V5)

    async def test_a_send_the_broker_refuses_is_logged_at_warning_once_a_minute(self, open_under_acl, caplog):
        caplog.set_level(logging.WARNING, "tonypi_ingest.mqtt")
        async with open_under_acl() as connection:
            connection.send(DENIED, b"first")
            connection.send(DENIED, b"second")
            await connection.publish(ALLOWED, b"after")  # answered in order: both sends were
        lines = [r for r in caplog.records if "refused" in r.getMessage()]
        assert [(r.levelno, r.getMessage()) for r in lines] == [
            (
                logging.WARNING,
                f"the broker refused the publish on {DENIED}: Not authorized (0x87): not delivered",
            )
        ]

    @pytest.fixture
    def topic_prefix(self, mqtt_prefix: str) -> str:
        return mqtt_prefix + "contract/"

    @pytest.fixture
    def open_connection(self):
        def open_(persistent_id: str | None = None):
            env = {"MQTT_URL": MQTT_URL, "MQTT_SESSION_EXPIRY_S": "60"}
            if persistent_id is not None:
                env["MQTT_CLIENT_ID"] = persistent_id
            return paho_connector(load_config(env))(V5)

        return open_

    @pytest.fixture
    async def peer(self):
        host, port = MQTT_URL.rsplit("//", 1)[1].rsplit(":", 1)
        async with aiomqtt.Client(host, int(port)) as client:
            yield client

    @pytest.fixture
    def peer_publish(self, peer):
        async def publish(topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
            await peer.publish(topic, payload, qos=qos, retain=retain)  # QoS 1: at the PUBACK

        return publish

    @pytest.fixture
    def peer_messages(self):
        host, port = MQTT_URL.rsplit("//", 1)[1].rsplit(":", 1)

        @asynccontextmanager
        async def subscribed(filter_: str) -> AsyncIterator[asyncio.Queue]:
            queue: asyncio.Queue = asyncio.Queue()
            async with aiomqtt.Client(host, int(port)) as client:
                await client.subscribe(filter_, qos=1)

                async def pump() -> None:
                    async for message in client.messages:
                        queue.put_nowait((str(message.topic), bytes(message.payload)))

                task = asyncio.create_task(pump())
                try:
                    yield queue
                finally:
                    task.cancel()

        return subscribed
