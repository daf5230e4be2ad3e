"""Command delivery without a broker: the per-request decision (deliverer.py), the claim
(claims.py, against the in-memory JetStream), what a robot is sent (robot_messages.py) and
the latched-stop resend (resend.py). tests/commands runs the same paths on real NATS and MQTT."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from prometheus_client import REGISTRY
from tonypi_events import FLEET, EventType, decode, decode_payload, utc_now
from tonypi_events.commanding import Plan
from tonypi_ingest.deliverer import CommandDeliverer
from tonypi_ingest.mqtt_port import V5, MqttError
from tonypi_ingest.presence import Latch
from tonypi_ingest.robot_messages import command_messages, latched_stop
from tonypi_ingest.status_view import PRESENCE_HEADER

from .fake_nats import FakeJetStream, FakeNats
from .fakes import FakeBroker, until
from .test_authority_readers import ACTOR, NAMES, Msg, msg

COMMAND = {"command_id": "c1", "type": "move", "params": {"steps": 2}, "timeout_s": 30, "actor": ACTOR}
STOP = {"command_id": "s1", "timeout_s": 30, "actor": ACTOR}


class Robots:
    """The MQTT side as the deliverer sees it: a publish that returns at the PUBACK."""

    def __init__(self, ready: bool = True, failing: bool = False) -> None:
        self.ready, self.failing = ready, failing
        self.sent: list[tuple[str, dict]] = []

    async def publish(self, topic: str, body: bytes) -> None:
        if self.failing:
            raise MqttError("MQTT disconnected")
        self.sent.append((topic, json.loads(body)))


def deliverer_with(robots: Robots, js: FakeJetStream) -> CommandDeliverer:
    deliverer = CommandDeliverer(NAMES, "site/", robots.publish, lambda: robots.ready, "c")
    deliverer.bind(FakeNats(js))
    return deliverer


def claims_in(js: FakeJetStream) -> list[dict]:
    return [decode(data).payload for subject, data, _ in js.stored if subject.endswith(".command_sent")]


async def test_a_command_is_claimed_then_sent_then_acked():
    robots, js = Robots(), FakeJetStream()
    request = msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "robot_online": True})
    await deliverer_with(robots, js).deliver(request)
    assert robots.sent == [("site/tonypi/commands/r1", {"steps": 2, "type": "move", "id": "c1"})]
    (claim,) = claims_in(js)
    assert claim["command_id"] == "c1" and claim["topic"] == "site/tonypi/commands/r1"
    assert request.acked == ["ack"]


async def test_a_command_claimed_before_is_not_sent_again():
    """A redelivery, or another replica: the claim's Nats-Msg-Id is a duplicate."""
    robots, js = Robots(), FakeJetStream()
    deliverer = deliverer_with(robots, js)
    for _ in range(2):
        await deliverer.deliver(msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "robot_online": True}))
    assert len(robots.sent) == 1 and len(claims_in(js)) == 1


async def test_while_mqtt_is_down_a_command_is_held_unclaimed():
    robots, js = Robots(ready=False), FakeJetStream()
    request = msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "robot_online": True})
    await deliverer_with(robots, js).deliver(request)
    assert request.acked == ["nak"] and js.stored == [] and robots.sent == []


async def test_an_offline_robots_command_expires_unless_it_waits_and_then_is_held():
    robots, js = Robots(), FakeJetStream()
    deliverer = deliverer_with(robots, js)
    expires = msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "robot_online": False})
    waits = msg(
        EventType.COMMAND_REQUESTED,
        "r1",
        {**COMMAND, "command_id": "c2", "robot_online": False, "wait": True},
    )
    await deliverer.deliver(expires)
    await deliverer.deliver(waits)
    assert expires.acked == ["ack"] and waits.acked == ["nak"] and robots.sent == []


async def test_a_command_past_its_deadline_is_acked_and_never_sent():
    robots, js = Robots(), FakeJetStream()
    request = msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "timeout_s": 0, "robot_online": True})
    await deliverer_with(robots, js).deliver(request)
    assert request.acked == ["ack"] and js.stored == [] and robots.sent == []


async def test_a_claimed_command_whose_publish_fails_is_not_sent_again():
    robots, js = Robots(failing=True), FakeJetStream()
    deliverer = deliverer_with(robots, js)
    request = msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "robot_online": True})
    await deliverer.deliver(request)
    assert request.acked == ["ack"] and len(claims_in(js)) == 1  # claimed: it will time out, visibly
    robots.failing = False
    await deliverer.deliver(msg(EventType.COMMAND_REQUESTED, "r1", {**COMMAND, "robot_online": True}))
    assert robots.sent == []


def delivered(outcome: str) -> float:
    return REGISTRY.get_sample_value("tonypi_ingest_commands_total", {"outcome": outcome}) or 0.0


async def test_an_emergency_stop_the_broker_refuses_is_counted_lost_not_sent(caplog):
    """MQTT 5: the broker's ACL answers the stop's publish with PUBACK 0x87 Not authorized."""
    broker, js = FakeBroker(), FakeJetStream()
    broker.refused_topics = {"site/tonypi/emergency_stop/#": 0x87}
    before = {outcome: delivered(outcome) for outcome in ("sent", "lost")}
    request = msg(EventType.EMERGENCY_STOP, "r1", {**STOP, "engaged": True})
    async with broker.connector()(V5) as connection:
        deliverer = CommandDeliverer(NAMES, "site/", connection.publish, lambda: True, "c")
        deliverer.bind(FakeNats(js))
        await deliverer.deliver(request)
    assert broker.refused == [("site/tonypi/emergency_stop/r1", 0x87)] and broker.published == []
    assert (delivered("sent"), delivered("lost")) == (before["sent"], before["lost"] + 1)
    assert request.acked == ["ack"] and len(claims_in(js)) == 1  # claimed: it times out, visibly
    (line,) = [r for r in caplog.records if "s1" in r.getMessage()]
    assert line.levelno == logging.ERROR
    assert "refused the publish on site/tonypi/emergency_stop/r1: Not authorized (0x87)" in line.getMessage()


async def test_an_unreadable_request_is_acked_and_never_sent():
    robots, js = Robots(), FakeJetStream()
    request = Msg(NAMES.subjects.event("r1", EventType.COMMAND_REQUESTED), b"{not json")
    await deliverer_with(robots, js).deliver(request)
    assert request.acked == ["ack"] and js.stored == [] and robots.sent == []


def _payload(kind: EventType, robot_id: str, fields: dict):
    request = msg(kind, robot_id, fields)
    event = decode(request.data)
    return event, decode_payload(event)


def test_a_fleet_command_every_robot_takes_goes_once_on_the_broadcast_topic():
    plan = {"a": Plan.SEND.value, "b": Plan.SEND.value}
    event, payload = _payload(EventType.COMMAND_REQUESTED, FLEET, {**COMMAND, "plan": plan})
    assert [topic for topic, _ in command_messages("", event, payload)] == ["tonypi/commands/broadcast"]


def test_a_fleet_command_some_robots_do_not_take_goes_to_each_that_does():
    plan = {"a": Plan.SEND.value, "b": Plan.UNSUPPORTED.value}
    event, payload = _payload(EventType.COMMAND_REQUESTED, FLEET, {**COMMAND, "plan": plan})
    assert [topic for topic, _ in command_messages("", event, payload)] == ["tonypi/commands/a"]


def test_an_emergency_stop_goes_to_the_stop_topic_and_gen1_gets_its_stop_command():
    plan = {"g2": Plan.SEND.value, "g1": Plan.SEND_STOP.value}
    event, payload = _payload(EventType.EMERGENCY_STOP, FLEET, {**STOP, "engaged": True, "plan": plan})
    out = [(topic, json.loads(body)) for topic, body in command_messages("p/", event, payload)]
    assert out == [
        ("p/tonypi/emergency_stop/broadcast", {"type": "emergency_stop", "reason": "operator", "id": "s1"}),
        ("p/tonypi/commands/g1", {"type": "stop", "id": "s1"}),
    ]


def test_a_release_is_a_resume_command():
    event, payload = _payload(EventType.EMERGENCY_STOP, "r1", {**STOP, "engaged": False})
    assert [json.loads(body) for _, body in command_messages("", event, payload)] == [
        {"type": "resume", "id": "s1"}
    ]


async def test_a_robot_back_without_its_latched_stop_is_sent_it_again_once_per_status():
    robots, js = Robots(), FakeJetStream()
    deliverer = deliverer_with(robots, js)
    latch = Latch("r1", "s1", "fire", utc_now() - timedelta(minutes=5))
    resender = deliverer._resender
    for _ in range(2):  # two replicas following the same status event
        await resender.resend("r1", latch, "status-7")
    topic, body = latched_stop("site/", "r1", latch)
    assert robots.sent == [(topic, json.loads(body))]
    (claim,) = claims_in(js)
    assert claim["resend"] is True and claim["to_robot"] == "r1"


async def test_a_latched_robot_reporting_without_the_stop_is_sent_it_through_presence():
    robots, js = Robots(), FakeJetStream()
    deliverer = deliverer_with(robots, js)
    await deliverer.presence._on_latch(msg(EventType.EMERGENCY_STOP, "r2", {**STOP, "engaged": True}))
    status = msg(EventType.STATUS, "r2", {"status": "online", "hardware_available": True})
    assert PRESENCE_HEADER not in (status.headers or {})  # an older event: read from its body
    await deliverer.presence._on_status(status)
    await until(lambda: bool(robots.sent))
    assert robots.sent == [
        ("site/tonypi/emergency_stop/r2", {"type": "emergency_stop", "reason": "operator", "id": "s1"})
    ]
