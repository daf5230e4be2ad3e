"""jobs: the seed's job semantics (MQTT.md), gen 1 and gen 2, as pure folds."""

from __future__ import annotations

from datetime import timedelta

from tonypi_events import EventType

from tests.projector.folding import Folded
from tests.projector.support import BASE_TIME, event

T = [BASE_TIME + timedelta(days=1, seconds=i) for i in range(10)]  # later than default event times


def scan_v1(robot, qr, at=None):
    return event(EventType.SCAN, robot, {"qr": qr}, version=1, at=at)


def scan_v2(robot, qr, at=None):
    return event(
        EventType.SCAN, robot, {"qr_data": qr, "station_name": "Dock", "action": "scanned"}, version=2, at=at
    )


def job_v1(robot, at=None, **payload):
    return event(EventType.JOB, robot, payload, version=1, at=at)


def job_v2(robot, at=None, **payload):
    return event(EventType.JOB, robot, payload, version=2, at=at)


def test_gen1_scan_without_an_active_job_starts_one_of_ten_items_and_records_the_item():
    f = Folded()
    f.fold(scan_v1("r1", "QR12345", at=T[1]))
    job = f.active_job("r1")
    assert (job.id, job.start_time, job.items_total, job.items_done, job.percent_complete) == (
        1,
        T[1],
        10,
        1,
        10.0,
    )
    assert job.last_item == {
        "sku": "SKU-12345",
        "name": "Widget A",
        "description": "Blue",
        "weight_kg": 0.25,
        "location": "Aisle 1",
    }
    assert f.messages("job") == ["Job 1 started on r1"]


def test_gen2_scan_of_an_unknown_code_records_the_code_and_does_not_count_it():
    """The robot was answered "Item not found" and does not count it: neither does the job."""
    f = Folded()
    f.fold(scan_v2("r1", "QR12345"), scan_v2("r1", "NOPE"))
    job = f.active_job("r1")
    assert (job.items_done, job.percent_complete, job.last_item) == (1, 10.0, {"qr": "NOPE"})
    assert len(f.jobs_of("r1")) == 1


def test_gen1_job_percent_sets_progress_and_completed_ends_the_job_at_100():
    f = Folded()
    f.fold(job_v1("r1", percent=40.0, status="working", items_done=4, items_total=10, at=T[1]))
    job = f.active_job("r1")
    assert (job.percent_complete, job.items_done, job.items_total, job.status) == (40.0, 4, 10, "active")
    f.fold(job_v1("r1", percent=90.0, status="completed", items_done=9, items_total=10, at=T[2]))
    assert f.active_job("r1") is None
    [done] = f.jobs_of("r1")
    assert (done.status, done.end_time, done.percent_complete, done.items_done) == (
        "completed",
        T[2],
        100.0,
        9,
    )
    assert f.messages("job") == ["Job 1 started on r1", "Job 1 completed on r1"]


def test_gen2_started_in_progress_then_completed():
    f = Folded()
    f.fold(
        job_v2("r1", task_name="Transport", status="started", items_total=5, at=T[1]),
        job_v2("r1", status="in_progress", phase="walking", progress_percent=60, items_done=3, at=T[2]),
        job_v2("r1", status="completed", success=True, at=T[3]),
    )
    [job] = f.jobs_of("r1")
    assert (job.task_name, job.phase, job.items_total, job.items_done) == ("Transport", "walking", 5, 3)
    assert (job.status, job.start_time, job.end_time, job.percent_complete) == (
        "completed",
        T[1],
        T[3],
        100.0,
    )


def test_gen2_cancelled_and_failed_end_the_job_keeping_progress_and_reason():
    f = Folded()
    f.fold(
        job_v2("r1", status="started", task_name="A"),
        job_v2("r1", progress_percent=30, status="in_progress"),
        job_v2("r1", status="cancelled", reason="operator stop", at=T[4]),
    )
    f.fold(job_v2("r1", status="started", task_name="B"), job_v2("r1", status="failed", reason="fell over"))
    cancelled, failed = f.jobs_of("r1")
    assert (cancelled.status, cancelled.percent_complete, cancelled.reason, cancelled.end_time) == (
        "cancelled",
        30.0,
        "operator stop",
        T[4],
    )
    assert (failed.status, failed.reason, failed.task_name) == ("failed", "fell over", "B")
    levels = {line.message.split()[2]: line.level for line in f.logs if line.category == "job"}
    assert levels == {"started": "INFO", "cancelled": "WARNING", "failed": "ERROR"}


def test_starting_a_job_while_one_is_active_supersedes_the_old_one_at_its_real_progress():
    f = Folded()
    f.fold(scan_v1("r1", "QR12345", at=T[1]))
    f.fold(job_v2("r1", status="started", task_name="Next", at=T[2]))
    old, new = f.jobs_of("r1")
    assert (old.status, old.end_time, old.percent_complete, old.reason) == (
        "superseded",
        T[2],
        10.0,
        "superseded by job 2",
    )
    assert (new.status, new.task_name, new.start_time, new.id) == ("active", "Next", T[2], 2)
    assert f.messages("job") == ["Job 1 started on r1", "Job 1 superseded on r1", "Job 2 started on r1"]


def test_a_job_event_with_a_percent_starts_a_job_when_none_is_active():
    f = Folded()
    f.fold(job_v2("r1", progress_percent=25.0, status="in_progress"))
    assert f.active_job("r1").percent_complete == 25.0


def test_an_ending_with_no_active_job_is_recorded_as_a_job_started_and_ended_then():
    f = Folded()
    f.fold(job_v2("r1", status="failed", reason="lost", at=T[3]))
    [job] = f.jobs_of("r1")
    assert (job.status, job.start_time, job.end_time, job.reason) == ("failed", T[3], T[3], "lost")


def test_scans_and_robot_job_progress_update_the_same_job():
    f = Folded()
    f.fold(
        scan_v1("r1", "QR12345"),
        job_v1("r1", percent=20.0, status="working", items_done=2, items_total=10),
        scan_v1("r1", "QR12345"),
    )
    [job] = f.jobs_of("r1")
    assert (job.items_done, job.percent_complete) == (3, 30.0)


def test_at_most_one_active_job_per_robot_at_all_times():
    f = Folded()
    f.fold(
        *[scan_v1("r1", "QR12345") for _ in range(3)],
        job_v2("r1", status="started"),
        job_v2("r1", status="started"),
        job_v1("r1", percent=10, status="working"),
        job_v2("r1", status="completed"),
        scan_v2("r1", "QR12345"),
    )
    assert sum(j.status == "active" for j in f.jobs.values()) == 1
    assert [j.status for j in f.jobs_of("r1")] == ["superseded", "superseded", "completed", "active"]


def test_percent_never_passes_100_when_more_items_are_scanned_than_planned():
    f = Folded()
    f.fold(*[scan_v1("r1", "QR12345") for _ in range(12)])
    assert f.active_job("r1").items_done == 12 and f.active_job("r1").percent_complete == 100.0
