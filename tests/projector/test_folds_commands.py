"""The commands fold, pure: states, stream-time timeouts, broadcasts, latches, the feed record,
and the same rows however the events are cut into batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tonypi_events import FLEET, EventEnvelope, EventType, encode
from tonypi_projector.batch import StreamEvent, fold_batch
from tonypi_projector.folds.commands import CommandBook

pytestmark = pytest.mark.unit  # the fast tier: no broker (make unit)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACTOR = {"name": "ops", "role": "operator"}


def event(event_type: EventType, robot_id: str, payload: dict, seconds: float) -> EventEnvelope:
    return EventEnvelope(
        event_id=f"{event_type.value}-{seconds}-{robot_id}",
        event_type=event_type,
        schema_version=1,
        robot_id=robot_id,
        received_at=T0 + timedelta(seconds=seconds),
        source="test",
        payload={"robot_id": robot_id, **payload},
    )


def request(cid: str, robot_id: str = "r1", at: float = 0, **extra) -> EventEnvelope:
    payload = {"command_id": cid, "type": "move", "timeout_s": 10, "actor": ACTOR, "robot_online": True}
    return event(EventType.COMMAND_REQUESTED, robot_id, {**payload, **extra}, at)


def sent(cid: str, robot_id: str = "r1", at: float = 1) -> EventEnvelope:
    return event(EventType.COMMAND_SENT, robot_id, {"command_id": cid, "topic": "t"}, at)


def answer(cid: str | None, robot_id: str = "r1", at: float = 2, success: bool = True) -> EventEnvelope:
    payload = {"success": success, "message": "done"} | ({"command_id": cid} if cid else {})
    return event(EventType.COMMAND_RESPONSE, robot_id, payload, at)


def status(robot_id: str, at: float) -> EventEnvelope:
    return event(EventType.STATUS, robot_id, {"status": "online"}, at)


def fold(events, batches=None, book=None):
    """Fold `events` cut into `batches` (sizes), carrying the book's rows between batches as the
    store would (open ones, plus those later events name)."""
    stream = [StreamEvent(n, encode(e), e) for n, e in enumerate(events, 1)]
    sizes = batches or [len(stream)]
    states, rows, latches, feed = {}, {}, {}, []
    start = 0
    for size in sizes:
        chunk = stream[start : start + size]
        start += size
        book = CommandBook(commands=dict(rows))
        changes = fold_batch(states, chunk, {}, book)
        rows.update(changes.commands)
        latches.update(changes.latches)
        feed.extend(changes.feed)
    return rows, latches, feed


def test_requested_sent_succeeded():
    rows, _, feed = fold([request("c1"), sent("c1"), answer("c1")])
    c = rows["c1"]
    assert (c.state, c.sent_count, c.response["message"]) == ("succeeded", 1, "done")
    assert c.deadline == T0 + timedelta(seconds=10) and c.finished_at == T0 + timedelta(seconds=2)
    assert c.actor == {**ACTOR, "via": "unknown"}  # a v1 event: how it was made was not recorded
    assert "command" in feed[0].kinds and feed[0].data["rows"]["commands"][0]["state"] == "requested"


def test_failed_answer_and_echo_without_id():
    rows, _, _ = fold([request("c1"), sent("c1"), answer(None), answer("c1", success=False)])
    assert rows["c1"].state == "failed"


def test_timeout_by_stream_time_only():
    rows, _, _ = fold([request("c1"), sent("c1"), status("r2", 9.9)])
    assert rows["c1"].state == "sent"  # 9.9 s of stream time: not yet
    rows, _, feed = fold([request("c1"), sent("c1"), status("r2", 10), answer("c1", at=11)])
    assert rows["c1"].state == "timed_out" and rows["c1"].finished_at == T0 + timedelta(seconds=10)
    assert feed[2].data["rows"]["commands"][0]["state"] == "timed_out"  # on the event that moved time


def test_offline_expires_unless_wait():
    rows, _, _ = fold([request("c1", robot_online=False), request("c2", robot_online=False, wait=True)])
    assert rows["c1"].state == "expired" and rows["c2"].state == "requested"


def test_broadcast_collects_answers_until_deadline():
    events = [
        request("b1", robot_id=FLEET, robot_online=None),
        sent("b1", robot_id=FLEET),
        answer("b1", "r1"),
        answer("b1", "r2"),
        status("r1", 11),
    ]
    rows, _, _ = fold(events)
    assert rows["b1"].state == "succeeded" and set(rows["b1"].response) == {"r1", "r2"}


def test_latch_press_resume():
    press = event(
        EventType.EMERGENCY_STOP,
        "r1",
        {"command_id": "s1", "engaged": True, "timeout_s": 10, "actor": ACTOR},
        0,
    )
    release = event(
        EventType.EMERGENCY_STOP,
        "r1",
        {"command_id": "s2", "engaged": False, "timeout_s": 10, "actor": ACTOR},
        5,
    )
    rows, latches, _ = fold([press])
    assert latches["r1"].engaged and rows["s1"].type == "emergency_stop"
    rows, latches, _ = fold([press, release])
    assert not latches["r1"].engaged and rows["s2"].type == "resume"


def test_same_rows_whatever_the_batches():
    events = [
        request("c1"),
        request("c2", at=1),
        sent("c1", at=2),
        answer("c1", at=3),
        sent("c2", at=4),
        status("r1", 12),
        answer("c2", at=13),
    ]
    whole, _, _ = fold(events)
    for cut in ([1] * 7, [3, 4], [2, 2, 3]):
        assert fold(events, cut)[0] == whole


def test_the_feed_record_as_stored_small_payloads_kept_big_ones_left_out():
    small = event(EventType.LOG, "r1", {"level": "INFO", "message": "hello", "source": "main"}, 1)
    # Every text within its 8 KiB bound, the whole over 16 KiB (extra fields are kept).
    extra = {f"note{i}": "y" * 6_000 for i in range(3)}
    big = event(EventType.LOG, "r1", {"level": "INFO", "message": "x" * 6_000, "source": "main", **extra}, 2)
    _, _, feed = fold([status("r1", 0), small, big])
    stored = [json.loads(record.data_json()) for record in feed]
    assert stored[1]["payload"]["message"] == "hello"
    assert "payload" not in stored[2]  # over 16 KiB of JSON: in the stream, not in the feed
    assert stored[2]["rows"]["logs"][0]["message"].startswith("x")  # the row it wrote still is
    # Times as ISO 8601 text, whatever the row held (datetimes in the fold's rows).
    seen = stored[0]["robot"]["last_seen"]
    assert datetime.fromisoformat(seen) == T0
