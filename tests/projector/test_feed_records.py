"""The live feed's wire output, pinned: one scripted history (a robot registered, its status,
a low battery raising an alarm that is acknowledged, a job, a command answered, an emergency
stop, a command left to time out, a clock tick taking the robot offline, a token) folded in
one batch, each record's kinds and its `data` as the value the live_feed table stores (JSONB:
the value, not the text the projector wrote), compared with feed_records.json. Regenerate
only for a deliberate change of the feed's schema (with tonypi_events.live_feed.SCHEMA_VERSION
and docs/live.md):
`.venv/bin/python -m tests.projector.test_feed_records > tests/projector/feed_records.json`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tonypi_events import EventType, encode
from tonypi_events.clock import tick_event
from tonypi_projector.batch import StreamEvent, fold_batch

from .folding import ITEMS
from .support import event

RECORDED = Path(__file__).with_name("feed_records.json")
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACTOR = {"name": "ops", "role": "operator", "via": "token"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _history() -> list:
    command = {"type": "move", "timeout_s": 10, "actor": ACTOR, "robot_online": True}
    return [
        event(EventType.ROBOT_REGISTERED, "r1", {"name": "One", "location": "Dock"}, at=at(1)),
        event(EventType.STATUS, "r1", {"status": "online"}, at=at(2)),
        event(EventType.BATTERY, "r1", {"percentage": 15, "charging": False}, at=at(3)),
        event(
            EventType.ALARM_ACKNOWLEDGED, "r1", {"alarm_id": ALARM_ID, "actor": ACTOR}, version=2, at=at(4)
        ),
        event(EventType.JOB, "r1", {"task_name": "pick", "status": "started"}, version=2, at=at(5)),
        event(EventType.JOB, "r1", {"task_name": "pick", "status": "completed"}, version=2, at=at(6)),
        event(EventType.COMMAND_REQUESTED, "r1", {"command_id": "c1", **command}, at=at(7)),
        event(EventType.COMMAND_SENT, "r1", {"command_id": "c1", "topic": "t"}, at=at(8)),
        event(
            EventType.COMMAND_RESPONSE,
            "r1",
            {"command_id": "c1", "success": True, "message": "done"},
            at=at(9),
        ),
        event(
            EventType.EMERGENCY_STOP,
            "r1",
            {"command_id": "e1", "engaged": True, "timeout_s": 10, "reason": "test", "actor": ACTOR},
            at=at(10),
        ),
        event(EventType.COMMAND_REQUESTED, "r1", {"command_id": "c2", **command}, at=at(11)),
        event(
            EventType.TOKEN_CREATED,
            "_tokens",
            {"name": "t", "role": "admin", "token_sha256": "0" * 64},
            at=at(12),
        ),
        tick_event(at(200), 5, 90),
    ]


ALARM_ID = 3 << 20  # the battery alarm: its id derives from the sequence (3) of the event that raised it


def records() -> list[dict]:
    history = _history()
    stream = [StreamEvent(n, encode(e), e) for n, e in enumerate(history, 1)]
    changes = fold_batch({}, stream, ITEMS)
    assert not changes.dead_letters, changes.dead_letters
    return [
        {
            "seq": r.seq,
            "robot_id": r.robot_id,
            "event_type": r.event_type,
            "kinds": list(r.kinds),
            "at": r.at.isoformat(),
            "data": r.data_json(),
        }
        for r in changes.feed
    ]


def _values(found: list[dict]) -> list[dict]:
    return [{**record, "data": json.loads(record["data"])} for record in found]


def test_the_feed_records_are_what_was_recorded():
    assert _values(records()) == _values(json.loads(RECORDED.read_text()))


def test_the_recorded_history_carries_every_kind():
    kinds = {kind for record in json.loads(RECORDED.read_text()) for kind in record["kinds"]}
    assert {"robot", "job", "log", "command", "emergency_stop", "alarm"} <= kinds


if __name__ == "__main__":
    print(json.dumps(records(), indent=1))
