"""system_logs lines from command answers, robot log lines and ingest rejections; poison events."""

from __future__ import annotations

from tonypi_events import EventEnvelope, EventType, encode
from tonypi_projector.batch import StreamEvent, fold_batch

from tests.projector.folding import Folded
from tests.projector.support import event


def test_command_responses_are_info_on_success_and_warning_on_failure():
    f = Folded()
    f.fold(
        event(EventType.COMMAND_RESPONSE, "r1", {"command_id": "c1", "success": True, "message": "moved"}),
        event(EventType.COMMAND_RESPONSE, "r1", {"command_id": "c2", "success": False, "message": "blocked"}),
        event(EventType.EMERGENCY_STOP_RESPONSE, "r1", {"command_id": "e1", "success": True}),
    )
    lines = [line for line in f.logs if line.category == "command"]
    assert [(line.level, line.message) for line in lines] == [
        ("INFO", "Command c1 succeeded on r1: moved"),
        ("WARNING", "Command c2 failed on r1: blocked"),
        ("INFO", "Emergency stop e1 succeeded on r1"),
    ]
    assert lines[1].details == {"command_id": "c2", "success": False, "message": "blocked"}


def test_robot_log_lines_keep_their_level_and_get_category_robot_source():
    f = Folded()
    f.fold(
        event(
            EventType.LOG,
            "r1",
            {
                "level": "ERROR",
                "message": "servo 3 overheated",
                "source": "servo_ctl",
                "timestamp": "2026-11-26T10:15:02.123456",
            },
        ),
        event(EventType.LOG, "r1", {"level": "debug", "message": "tick"}),
    )
    robot_lines = [line for line in f.logs if line.category.startswith("robot_") or line.message == "tick"]
    assert [(line.level, line.category, line.message) for line in robot_lines] == [
        ("ERROR", "robot_servo_ctl", "servo 3 overheated"),
        ("DEBUG", "robot_unknown", "tick"),
    ]
    assert robot_lines[0].details == {"robot_timestamp": "2026-11-26T10:15:02.123456+00:00"}  # naive: UTC


def test_ingest_rejections_are_warnings_with_the_reason_and_register_no_robot():
    f = Folded()
    f.fold(
        event(
            EventType.INGEST_REJECTED,
            "_unattributed",
            {
                "reason": "missing_robot_id",
                "detail": "tonypi/battery without robot_id",
                "topic": "tonypi/battery",
                "size": 40,
                "dead_letter_subject": "tonypi.deadletter.missing_robot_id",
            },
        ),
        event(
            EventType.INGEST_REJECTED,
            "r9",
            {"reason": "invalid_json", "detail": "bad", "topic": "tonypi/status/r9", "size": 3},
        ),
    )
    assert f.states["_unattributed"].robot is None and f.states["r9"].robot is None
    first, second = f.logs
    assert (first.level, first.category, first.robot_id) == ("WARNING", "ingest", None)
    assert "missing_robot_id" in first.message and first.details["topic"] == "tonypi/battery"
    assert second.robot_id == "r9"


def test_log_ids_derive_from_the_stream_sequence():
    f = Folded()
    f.fold(event(EventType.SCAN, "r1", {"qr": "QR12345"}), event(EventType.LOG, "r1", {"message": "m"}))
    assert [line.id for line in f.logs] == [
        16,
        17,
        32,
    ]  # auto-registered + job started at seq 1, log at seq 2


def test_poison_events_are_dead_lettered_and_the_rest_of_the_batch_applies():
    good = event(EventType.STATUS, "r1", {"status": "online"})
    future = EventEnvelope(**{**good.model_dump(), "event_id": "f", "schema_version": 99})
    invalid = event(EventType.SENSOR, "r1", {"sensor_type": "x", "value": "not a number"})
    later = event(EventType.LOG, "r1", {"message": "still here"})
    events = [
        StreamEvent(1, encode(good), good),
        StreamEvent(2, encode(future), future),
        StreamEvent(3, encode(invalid), invalid),
        StreamEvent(4, b"\xff garbage", None, "ValidationError: junk"),
        StreamEvent(5, encode(later), later),
    ]
    states: dict = {}
    changes = fold_batch(states, events, {})
    assert [d.seq for d in changes.dead_letters] == [2, 3, 4]
    assert "v99" in changes.dead_letters[0].error and "ValidationError" in changes.dead_letters[1].error
    assert changes.applied == {"status": 1, "log": 1}
    assert [line.message for line in changes.logs][-1] == "still here"
