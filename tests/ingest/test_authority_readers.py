"""Ingest's stream readers believe only what the subject vouches for (tonypi_events.authority):
a forged emergency-stop release, status or command is ignored and counted. Pure: the readers'
callbacks fed message objects, no broker."""

from __future__ import annotations

from dataclasses import dataclass, field

from tonypi_events import (
    CURRENT_VERSION,
    EventEnvelope,
    EventType,
    StreamNames,
    encode,
    new_event_id,
    utc_now,
)
from tonypi_ingest import metrics
from tonypi_ingest.deliverer import CommandDeliverer
from tonypi_ingest.presence import Latch, Presence

NAMES = StreamNames()
ACTOR = {"name": "t", "role": "operator", "via": "token"}


@dataclass
class Msg:
    subject: str
    data: bytes
    acked: list[str] = field(default_factory=list)
    headers: dict[str, str] | None = None  # an event stored before ingest wrote the presence header

    async def ack(self) -> None:
        self.acked.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.acked.append("nak")


def msg(kind: EventType, robot_id: str, payload: dict, subject_robot: str | None = None) -> Msg:
    event = EventEnvelope(
        event_id=new_event_id(),
        event_type=kind,
        schema_version=CURRENT_VERSION[kind],
        robot_id=robot_id,
        received_at=utc_now(),
        source="test",
        payload={"robot_id": robot_id, **payload},
    )
    return Msg(NAMES.subjects.event(subject_robot or robot_id, kind), encode(event))


def mismatches(reader: str) -> float:
    return metrics.SUBJECT_MISMATCHES.labels(reader)._value.get()


async def test_a_forged_release_leaves_the_latch_engaged():
    presence = Presence(NAMES, 90, lambda *_: None)
    stop = {"command_id": "s1", "timeout_s": 30, "actor": ACTOR}
    await presence._on_latch(msg(EventType.EMERGENCY_STOP, "r1", {**stop, "engaged": True}))
    before = mismatches("presence")
    # A release for r1, published on r2's subject: not r1's release.
    await presence._on_latch(msg(EventType.EMERGENCY_STOP, "r1", {**stop, "engaged": False}, "r2"))
    assert isinstance(presence.latches.get("r1"), Latch)
    assert mismatches("presence") == before + 1


async def test_a_forged_status_is_not_taken_as_the_robots():
    presence = Presence(NAMES, 90, lambda *_: None)
    await presence._on_status(msg(EventType.STATUS, "r1", {"status": "online"}, "r9"))
    assert not presence.online("r1") and "r1" not in presence.seen


async def test_a_command_on_another_robots_subject_is_acked_and_never_sent():
    sent: list[str] = []

    async def publish(topic: str, body: bytes) -> None:
        sent.append(topic)

    deliverer = CommandDeliverer(NAMES, "", publish, lambda: True, "c")
    before = mismatches("deliverer")
    forged = msg(
        EventType.COMMAND_REQUESTED,
        "r1",
        {"command_id": "c1", "type": "stop", "timeout_s": 30, "robot_online": True, "actor": ACTOR},
        "r2",
    )
    await deliverer.deliver(forged)
    assert forged.acked == ["ack"] and sent == []
    assert mismatches("deliverer") == before + 1
