"""Analytics folded from events (folds/analytics.py), as pure folds: exact numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tonypi_events import EventType
from tonypi_projector.folds.analytics import INF, Analytics, split_days
from tonypi_projector.folds.templates import TEMPLATE_CHARS, message_template

from tests.projector.folding import Folded
from tests.projector.support import event

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)
S = 1_000_000  # microseconds in a second


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def status(robot: str, t: float, value: str = "online"):
    return event(EventType.STATUS, robot, {"status": value}, at=at(t))


def job_v2(robot: str, t: float, **payload):
    return event(EventType.JOB, robot, payload, version=2, at=at(t))


def log(robot: str, t: float, message: str, level: str = "error"):
    return event(EventType.LOG, robot, {"level": level, "message": message, "source": "servo"}, at=at(t))


def tick(t: float, offline_after_s: float = 90):
    payload = {"period_s": 1, "offline_after_s": offline_after_s}
    return event(EventType.CLOCK_TICK, "_clock", payload, at=at(t))


def total(f: Folded) -> Analytics:
    out = Analytics()
    for changes in f.batches:
        out.merge(changes.analytics)
    return out


ESTIMATE = {"estimated_duration": 50}
REASON = "box 17 dropped at 0x1F"


def a_working_day(robot: str = "r1") -> list:
    return [
        status(robot, 0),
        job_v2(robot, 10, task_name="Sort", status="started", start_time="s1", items_total=4),
        job_v2(robot, 40, task_name="Sort", status="working", start_time="s1", items_done=2),
        job_v2(robot, 70, task_name="Sort", status="completed", start_time="s1", items_done=4, **ESTIMATE),
        job_v2(robot, 73, task_name="Sort", status="completed", start_time="s1", items_done=4),  # its repeat
        status(robot, 100),
        status(robot, 120, "offline"),
        status(robot, 200),  # offline for 80 s: not counted
        job_v2(robot, 210, task_name="Sort", status="started", start_time="s2"),
        job_v2(robot, 230, task_name="Sort", status="failed", start_time="s2", reason=REASON),
        log(robot, 240, "Servo 3 overheated at 75.5C"),
        log(robot, 241, "Servo 5 overheated at 80C"),
        log(robot, 242, "all good", level="info"),
        status(robot, 250),  # within a minute of the last count (230): counted later
        status(robot, 300),
    ]


def test_utilization_counts_online_time_and_busy_time_exactly():
    f = Folded()
    f.fold(*a_working_day())
    a = total(f)
    # online: 0..120 and 200..300 = 220 s; busy: 10..70 and 210..230 = 80 s
    assert a.utilization == {("r1", DAY): [220 * S, 80 * S]}
    assert f.robot("r1").accrued_at == at(300)


def test_messages_within_a_minute_of_the_last_count_add_nothing_yet():
    f = Folded()
    f.fold(status("r1", 0), status("r1", 30), status("r1", 59))
    assert total(f).utilization == {} and f.robot("r1").accrued_at == at(0)
    f.fold(status("r1", 61))
    assert total(f).utilization == {("r1", DAY): [61 * S, 0]}


def test_the_same_events_cut_into_any_batches_give_the_same_sums():
    one, each = Folded(), Folded()
    events = a_working_day()
    one.fold(*events)
    for ev in events:
        each.fold(ev)
    assert total(one) == total(each)
    assert one.robot("r1") == each.robot("r1")


def test_time_is_split_at_utc_midnight():
    f = Folded()
    start = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)
    f.fold(event(EventType.STATUS, "r1", {"status": "online"}, at=start))
    f.fold(event(EventType.STATUS, "r1", {"status": "online"}, at=start + timedelta(seconds=90)))
    assert total(f).utilization == {
        ("r1", date(2026, 12, 1)): [30 * S, 0],
        ("r1", date(2026, 12, 2)): [60 * S, 0],
    }
    assert split_days(start, start) == []


def test_a_robot_the_clock_finds_silent_counts_online_until_its_timeout_not_the_tick():
    f = Folded()
    f.fold(status("r1", 0), job_v2("r1", 5, task_name="Sort", status="started", start_time="s1"))
    f.fold(tick(500, offline_after_s=90))
    assert f.robot("r1").online is False
    assert total(f).utilization == {("r1", DAY): [95 * S, 90 * S]}  # online 0..95, busy 5..95
    f.fold(status("r1", 600))  # back: the silence is not counted
    assert total(f).utilization == {("r1", DAY): [95 * S, 90 * S]}
    f.fold(status("r1", 700))
    assert total(f).utilization == {("r1", DAY): [195 * S, 190 * S]}  # its job is still active


def test_job_outcomes_by_status_and_reason_template_once_per_job():
    f = Folded()
    f.fold(*a_working_day())
    f.fold(job_v2("r1", 300, task_name="Sort", status="started", start_time="s3"))
    f.fold(job_v2("r1", 310, task_name="Sort", status="started", start_time="s4"))  # supersedes s3
    assert total(f).outcomes == {
        ("r1", DAY, "completed", ""): 1,
        ("r1", DAY, "failed", "box <n> dropped at <hex>"): 1,
        ("r1", DAY, "superseded", "superseded by job <n>"): 1,
    }


def test_performance_keeps_items_duration_and_histograms_of_completed_jobs():
    f = Folded()
    f.fold(*a_working_day())
    a = total(f)
    assert a.performance == {("r1", DAY): [1, 4, 60 * S]}  # 4 items in 60 s: 240 items/hour
    assert a.buckets == {("r1", DAY, "duration_s", 60.0): 1, ("r1", DAY, "vs_estimate", 1.25): 1}  # 60/50


def test_error_patterns_group_messages_by_template_with_the_first_as_example():
    f = Folded()
    f.fold(*a_working_day())
    errors = total(f).errors
    assert errors[("r1", DAY, "ERROR", "Servo <n> overheated at <n>C")] == [2, "Servo 3 overheated at 75.5C"]
    assert ("r1", DAY, "ERROR", "Job <n> failed on r<n>") in errors  # the projector's own line
    assert not any(key[3] == "all good" for key in errors)  # INFO is no fault


def test_overflow_bucket_is_infinite():
    f = Folded()
    f.fold(
        status("r1", 0),
        job_v2("r1", 0, task_name="Long", status="started", start_time="l"),
        job_v2("r1", 90000, task_name="Long", status="completed", start_time="l", estimated_duration=10),
    )
    a = total(f)
    day = date(2026, 12, 2)  # of its end
    assert a.buckets == {("r1", day, "duration_s", INF): 1, ("r1", day, "vs_estimate", INF): 1}


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("Servo 3 overheated at 75.2C", "Servo <n> overheated at <n>C"),
        ("retry=-3 after 1e-3s", "retry=<n> after <n>s"),
        ("id 550e8400-e29b-41d4-a716-446655440000 lost", "id <uuid> lost"),
        ("addr 0xDEADbeef crc deadbeef12 word cafebabe", "addr <hex> crc <hex> word cafebabe"),
        ("file \"a b.txt\" and 'x' not found", "file <str> and <str> not found"),
        ("since 2026-12-01T10:00:00.5+00:00 silent", "since <time> silent"),
        ("  many\t\nspaces  ", "many spaces"),
        ("", "<empty>"),
        ("bell\x07 here", "bell\\x07 here"),
    ],
)
def test_message_template(message, template):
    assert message_template(message) == template


def test_message_template_is_bounded():
    assert len(message_template("word " * 10_000)) == TEMPLATE_CHARS
    assert message_template("=cmd|' /C calc'!A0") == "=cmd|<str>!A<n>"  # text stays data
