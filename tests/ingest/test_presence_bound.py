"""Presence's memory is bounded by the robots heard within the online timeout (issue 18
row 3): a robot silent past it, or whose last status says offline, is forgotten (online()
is false for it either way), counted, and a forgotten latched robot coming back is sent its
stop at once. Pure: the status callback fed message objects, no broker."""

from __future__ import annotations

from datetime import timedelta

from tonypi_events import EventType, encode, utc_now
from tonypi_ingest import metrics
from tonypi_ingest.presence import Latch, Presence
from tonypi_ingest.status_view import PRESENCE_HEADER, presence_header

from tests.ingest.test_authority_readers import NAMES, Msg
from tests.projector.support import event

TIMEOUT_S = 90


def status(robot_id: str, value: str, ago_s: float = 0.0) -> Msg:
    payload = {"status": value, "ip_address": "127.0.0.1"}  # gen 2: it has an emergency stop to forget
    ev = event(EventType.STATUS, robot_id, payload, at=utc_now() - timedelta(seconds=ago_s))
    return Msg(
        NAMES.subjects.event(robot_id, EventType.STATUS),
        encode(ev),
        headers={PRESENCE_HEADER: presence_header(ev)},
    )


def forgotten() -> float:
    return metrics.PRESENCE_FORGOTTEN._value.get()


async def test_a_fleet_heard_once_is_forgotten_once_silent_past_the_timeout():
    presence = Presence(NAMES, TIMEOUT_S, lambda *_: None)
    before = forgotten()
    for i in range(5000):  # heard long ago: read from the stream's backlog at start-up
        await presence._on_status(status(f"old-{i}", "online", ago_s=TIMEOUT_S + 60))
    for i in range(300):
        await presence._on_status(status(f"r{i}", "online", ago_s=TIMEOUT_S - 30))
    assert len(presence.seen) == 300  # the old ones went as the newer statuses came
    assert forgotten() - before == 5000
    assert all(presence.online(f"r{i}") for i in range(300)) and not presence.online("old-0")

    # Forty seconds on, nothing heard: the sweep forgets the 300 too; the gauge says so.
    assert presence.forget_silent(utc_now() + timedelta(seconds=40)) == 300
    assert len(presence.seen) == 0
    assert metrics.PRESENCE_ROBOTS._value.get() == 0


async def test_a_robot_saying_offline_is_forgotten_and_coming_back_is_sent_its_stop_at_once():
    sent: list[str] = []
    presence = Presence(NAMES, TIMEOUT_S, lambda robot_id, latch, event_id: sent.append(robot_id))
    presence.latches["r1"] = Latch("r1", "c1", None, utc_now() - timedelta(minutes=5))
    await presence._on_status(status("r1", "emergency_stopped"))
    await presence._on_status(status("r1", "offline"))
    assert "r1" not in presence.seen and not presence.online("r1")
    await presence._on_status(status("r1", "online"))  # restarted, forgot its stop
    assert sent == ["r1"] and presence.online("r1")
    await presence._on_status(status("r1", "online"))  # still without it: resent at most every 30 s
    assert sent == ["r1"]
