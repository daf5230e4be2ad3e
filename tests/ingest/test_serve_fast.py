"""Ingest's composition root with in-memory ports (tests/ingest/fakes.py): the MQTT edge,
the ingestor, the forwarder and settlement together, with no broker. What the fakes do is
held to what paho on Mosquitto does by test_mqtt_contract.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import REGISTRY
from tonypi_ingest.bootstrap import serve
from tonypi_ingest.broker_stats import DROPPED_TOPIC
from tonypi_ingest.config import IngestConfig, load_config
from tonypi_ingest.mqtt_port import V311

from tests.support.ports import free_port

from .fake_nats import FakeJetStream, FakeLink
from .fakes import FakeBroker, FakeConnection, until
from .samples import SAMPLES

STATUS = json.dumps({"robot_id": "r1", "status": "online"}).encode()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def make_config(**env: str) -> IngestConfig:
    return load_config(
        {
            "INGEST_DELIVER_COMMANDS": "false",  # command delivery reads JetStream consumers
            "INGEST_PORT": str(free_port()),
            "INGEST_DRAIN_TIMEOUT_S": "2",
            **env,
        }
    )


class Ingest:
    """`serve` with a fake broker and a fake JetStream, as a task of the test's loop."""

    def __init__(self, broker: FakeBroker, js: FakeJetStream, config: IngestConfig) -> None:
        self.broker, self.js, self.config = broker, js, config
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            serve(
                config,
                self.stop,
                mqtt=broker.connector(config.client_id),
                make_link=lambda _config, on_available: FakeLink(js, on_available),
            )
        )

    @property
    def connection(self) -> FakeConnection:
        (connection,) = self.broker.live
        return connection

    async def subscribed(self) -> FakeConnection:
        await until(
            lambda: any(f.endswith("#") or "+" in f for c in self.broker.live for f in c.session.filters)
        )
        return self.connection

    async def stopped(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)


@pytest.fixture
async def running():
    started: list[Ingest] = []

    def start(broker: FakeBroker, js: FakeJetStream, config: IngestConfig | None = None) -> Ingest:
        ingest = Ingest(broker, js, config or make_config())
        started.append(ingest)
        return ingest

    yield start
    for ingest in started:
        if not ingest.task.done():
            await ingest.stopped()


async def test_a_qos1_message_is_acknowledged_only_once_its_event_is_stored(running):
    broker, js = FakeBroker(), FakeJetStream()
    ingest = running(broker, js)
    connection = await ingest.subscribed()
    js.hold = True
    broker.publish("tonypi/status/r1", STATUS, qos=1)
    await until(lambda: js.unanswered == 1)  # the forwarder published it; JetStream holds its ack
    assert js.stored == [] and connection.acked == []
    js.release()
    await until(lambda: len(connection.acked) == 1)
    assert connection.held == 0
    ((subject, data, headers),) = js.stored
    assert subject == "tonypi.events.r1.status" and json.loads(data)["event_type"] == "status"
    assert headers["Nats-Msg-Id"] == json.loads(data)["event_id"]


async def test_a_rejected_message_is_dead_lettered_with_its_notice_then_acknowledged_once(running):
    broker, js = FakeBroker(), FakeJetStream()
    before = sample("tonypi_ingest_outcomes_total", outcome="dead_lettered")
    ingest = running(broker, js)
    connection = await ingest.subscribed()
    broker.publish("tonypi/status/r1", b"not json", qos=1)
    await until(lambda: len(connection.acked) == 1)
    subjects = sorted(subject for subject, _, _ in js.stored)
    assert subjects == ["tonypi.deadletter.not_json", "tonypi.events.r1.ingest_rejected"]
    assert [payload for subject, payload, _ in js.stored if "deadletter" in subject] == [b"not json"]
    assert sample("tonypi_ingest_outcomes_total", outcome="dead_lettered") == before + 1
    assert connection.held == 0


async def test_every_sample_topic_becomes_one_event_of_its_kind(running):
    broker, js = FakeBroker(), FakeJetStream()
    ingest = running(broker, js)
    connection = await ingest.subscribed()
    for sample in SAMPLES:
        broker.publish(sample.topic, json.dumps(sample.payload).encode(), qos=1)
    await until(lambda: len(connection.acked) == len(SAMPLES))
    kinds = sorted((json.loads(data)["robot_id"], json.loads(data)["event_type"]) for _, data, _ in js.stored)
    assert kinds == sorted((s.robot_id, s.event_type.value) for s in SAMPLES)


async def test_a_scan_is_answered_after_its_event_is_stored(running):
    broker, js = FakeBroker(), FakeJetStream()
    replies = broker.subscribe_peer("tonypi/items/#")
    ingest = running(broker, js)
    connection = await ingest.subscribed()
    js.hold = True
    broker.publish("tonypi/scan/r1", json.dumps({"robot_id": "r1", "qr": "QR12345"}).encode(), qos=1)
    await until(lambda: js.unanswered == 1)
    assert replies.empty() and connection.acked == []  # not before JetStream has the scan
    js.release()
    topic, payload = await asyncio.wait_for(replies.get(), 5)
    assert topic.endswith("/r1") and "found" in json.loads(payload)


async def test_mqtt_3_1_1_cannot_skip_retained_messages_so_ingest_counts_and_acknowledges_them(running):
    broker, js = FakeBroker(protocols=[V311]), FakeJetStream()
    broker.publish("tonypi/status/r1", STATUS, qos=1, retain=True)
    before = sample("tonypi_ingest_retained_skipped_total")
    ingest = running(broker, js)  # MQTT 5 refused first, then 3.1.1
    await until(lambda: sample("tonypi_ingest_retained_skipped_total") == before + 1, timeout=10)
    await until(lambda: len(ingest.connection.acked) == 1)
    assert ingest.connection.protocol is V311 and js.stored == []


async def test_after_the_broker_goes_away_ingest_connects_and_subscribes_again(running):
    broker, js = FakeBroker(), FakeJetStream()
    ingest = running(broker, js)
    first = await ingest.subscribed()
    broker.drop()
    second = await ingest.subscribed()
    assert second is not first
    broker.publish("tonypi/status/r1", STATUS, qos=1)
    await until(lambda: len(second.acked) == 1)
    assert len(js.stored) == 1


async def test_a_refused_subscription_is_retried_until_granted(running):
    broker, js = FakeBroker(), FakeJetStream()
    broker.refused_filters = {"tonypi/status/+"}
    ingest = running(broker, js)
    await until(lambda: broker.attempts >= 1)
    broker.refused_filters = set()
    connection = await ingest.subscribed()
    await until(lambda: "tonypi/status/+" in connection.session.filters, timeout=10)


async def test_a_clean_stop_unsubscribes_and_handles_what_came_before(running):
    broker, js = FakeBroker(), FakeJetStream()
    ingest = running(broker, js)
    connection = await ingest.subscribed()
    for n in range(300):
        broker.publish(f"tonypi/logs/r{n}", json.dumps({"message": f"m{n}"}).encode(), qos=1)
    await ingest.stopped()
    assert len(connection.acked) == 300 and len(js.stored) == 300
    assert connection.session.filters == {DROPPED_TOPIC: 0}  # the robot topics: unsubscribed


async def test_a_persistent_session_gets_back_what_a_stopped_ingest_could_not_store(running):
    broker = FakeBroker()
    config = make_config(MQTT_CLIENT_ID="ingest-1", INGEST_DRAIN_TIMEOUT_S="0.2")
    first_js = FakeJetStream()
    first = running(broker, first_js, config)
    connection = await first.subscribed()
    first_js.hold = True  # JetStream never answers this ingest
    broker.publish("tonypi/status/r1", STATUS, qos=1)
    await until(lambda: connection.held == 1 and not connection.waiting)
    await first.stopped()
    assert connection.acked == [] and connection.session.filters  # still subscribed
    second_js = FakeJetStream()
    second = running(broker, second_js, make_config(MQTT_CLIENT_ID="ingest-1"))
    await until(lambda: len(second_js.stored) == 1)
    await until(lambda: len(second.connection.acked) == 1)


async def test_the_brokers_drop_counter_goes_to_its_gauge_not_to_the_ingestor(running):
    broker, js = FakeBroker(), FakeJetStream()
    ingest = running(broker, js)
    await ingest.subscribed()
    await until(lambda: DROPPED_TOPIC in ingest.connection.session.filters)
    broker.publish(DROPPED_TOPIC, b"17", qos=0)
    await until(lambda: sample("tonypi_ingest_mqtt_broker_wide_dropped_messages") == 17)
    assert js.stored == []
