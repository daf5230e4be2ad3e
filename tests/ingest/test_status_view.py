"""What presence reads of a status event: the header ingest writes, or one json.loads of
an older event, never pydantic (issue 23)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from tonypi_events import EventEnvelope, EventType
from tonypi_ingest.inbox import Inbox
from tonypi_ingest.status_view import PRESENCE_HEADER, SubjectMismatch, presence_header, read_status

AT = datetime(2026, 12, 5, 10, 0, 0, 123456, tzinfo=UTC)


def _event(payload: dict) -> EventEnvelope:
    return EventEnvelope(
        event_id="e1",
        event_type=EventType.STATUS,
        schema_version=1,
        robot_id="robot 1/é",
        received_at=AT,
        source="tonypi/status/x",
        payload={"robot_id": "robot 1/é", **payload},
    )


@pytest.mark.parametrize(
    ("payload", "status", "stopped"),
    [
        ({"status": "online"}, "online", False),
        ({"status": "online", "emergency_stopped": True}, "online", True),
        ({"status": "emergency_stopped"}, "emergency_stopped", True),
        ({"status": "offline", "emergency_stopped": False}, "offline", False),
    ],
)
def test_the_header_and_the_body_say_the_same(payload, status, stopped):
    event = _event(payload)
    subject = "p.events.robot%201%2F%C3%A9.status"
    headers = {"Nats-Msg-Id": "e1", PRESENCE_HEADER: presence_header(event)}
    from_header = read_status(subject, headers, b"not read")
    from_body = read_status(subject, None, event.model_dump_json().encode())
    assert from_header == from_body
    assert (from_header.robot_id, from_header.status, from_header.stopped) == ("robot 1/é", status, stopped)
    assert from_header.received_at == AT and from_header.event_id == "e1"


@pytest.mark.parametrize(
    ("payload", "firmware"),
    [
        ({"status": "online", "system_info": {"cpu_percent": 3}}, "gen1"),
        ({"status": "online", "hardware_available": True}, "gen2"),
        ({"status": "online", "hardware_available": False}, "gen2_sim"),
    ],
)
def test_the_header_carries_the_firmware_the_status_reveals(payload, firmware):
    """The deliverer re-sends a latched stop only to firmware that has one (not gen 1)."""
    event = _event(payload)
    subject = "p.events.robot%201%2F%C3%A9.status"
    from_header = read_status(subject, {PRESENCE_HEADER: presence_header(event)}, b"")
    assert from_header.firmware == firmware
    assert read_status(subject, None, event.model_dump_json().encode()).firmware == firmware


def test_an_older_status_whose_envelope_disagrees_with_its_subject_is_refused():
    forged = _event({"status": "online"}).model_dump_json().encode()  # robot "robot 1/é"
    with pytest.raises(SubjectMismatch, match="subject_mismatch"):
        read_status("p.events.other.status", None, forged)


def test_another_kind_on_a_status_subject_is_a_mismatch_whatever_its_payload():
    """Issue 16 row 2: a token_created on a status subject is a forgery (counted, alerted),
    not merely an unreadable status."""
    token = {"event_type": "token_created", "robot_id": "r", "payload": {"token_sha256": "x"}}
    with pytest.raises(SubjectMismatch, match="subject_mismatch"):
        read_status("p.events.r.status", None, json.dumps(token).encode())


def test_an_unreadable_status_says_why():
    with pytest.raises(ValueError, match="not a status event"):
        read_status("p.events.r.status", None, json.dumps({"payload": {}}).encode())
    status_without_one = {"event_type": "status", "robot_id": "r", "payload": {}}
    with pytest.raises(ValueError, match="not a status event"):
        read_status("p.events.r.status", None, json.dumps(status_without_one).encode())
    with pytest.raises(ValueError, match="malformed Tonypi-Presence"):
        read_status("p.events.r.status", {PRESENCE_HEADER: "garbage"}, b"")


def test_a_hostile_status_makes_a_one_line_ascii_header():
    value = presence_header(_event({"status": "on\r\nline\u00e9" + "x" * 500}))
    assert value.isascii() and "\n" not in value and "\r" not in value and len(value) < 300


async def test_the_inbox_yields_in_order_in_slices_giving_the_loop_a_turn_between_them():
    inbox: Inbox[int] = Inbox()
    handled: list[int] = []
    turns: list[int] = []  # how many were handled each time another task got the loop

    async def other_task() -> None:
        while len(handled) < 200:
            turns.append(len(handled))
            await asyncio.sleep(0)

    async def read() -> None:
        async for item in inbox.items():
            handled.append(item)

    for n in range(200):
        inbox.put(n)
    inbox.close()
    await asyncio.wait_for(asyncio.gather(read(), other_task()), 5)
    assert handled == list(range(200)) and len(inbox) == 0
    assert any(0 < t < 200 for t in turns)  # not all at once: the loop got its turn in between
