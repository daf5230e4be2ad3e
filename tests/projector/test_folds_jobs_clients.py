"""jobs and system_logs as the robots' unchanged client reports them (issue 9): each test
folds the sequence a real client sends (tests/projector/clients.py, from the contract)
and asserts what an operator sees. The same sequences run through the real ingest and
projector in test_client_habits.py."""

from __future__ import annotations

from tests.projector import clients as c
from tests.projector.folding import ITEMS, Folded

R = "tonypi_r1"
FOUND = {"robot_id": R, "qr": "QR12345", "found": True, "item": ITEMS["QR12345"]}
NOT_FOUND = {"robot_id": R, "qr": "NOPE", "found": False, "message": "Item not found"}


def fold(f: Folded, *messages: c.Message) -> None:
    f.fold(*(c.envelope(m) for m in messages))


def without_effect(f: Folded) -> dict[str, int]:
    total: dict[str, int] = {}
    for batch in f.batches:
        for reason, n in batch.without_effect.items():
            total[reason] = total.get(reason, 0) + n
    return total


def gen1_item(f: Folded, robot: str, qr: str, counter: int | None, t: float, gen: int = 1) -> None:
    """One scan as the client does it: scan, the server's reply echoed, then (found) the counter."""
    reply = FOUND if counter is not None else NOT_FOUND
    fold(f, c.scan(robot, qr, t, gen=gen), c.item_echo(robot, {**reply, "robot_id": robot}, t))
    if counter is not None:
        fold(f, c.item_counter(robot, counter, t))


def gen2_job(f: Folded, robot: str, start: float, items: int, *, ending: str = "completed") -> float:
    """started, a report every 3 s (one item each), the ending; returns the ending's time."""
    fold(f, c.gen2_started(robot, start))
    t = start
    for n in range(1, items + 1):
        t += 3
        fold(f, c.gen2_report(robot, start, t, n))
    t += 3
    fold(f, c.gen2_report(robot, start, t, items, status=ending))
    return t


def test_gen2_repeats_of_an_ended_job_change_nothing_and_are_counted():
    f = Folded()
    end = gen2_job(f, R, 0, 10)
    ended_row = f.jobs_of(R)[0]
    for k in range(1, 10):  # 27 s of an idle robot: the ending again every 3 s
        fold(f, c.gen2_report(R, 0, end + 3 * k, 10, status="completed"))
    [job] = f.jobs_of(R)
    assert job == ended_row  # not even updated_at moved
    assert (job.status, job.task_name, job.items_done, job.percent_complete) == (
        "completed",
        "Transport",
        10,
        100.0,
    )
    assert f.messages("job") == [f"Job {job.id} started on {R}", f"Job {job.id} completed on {R}"]
    assert without_effect(f) == {"job_repeat": 9}


def test_gen2_next_job_after_repeats_is_a_new_job():
    f = Folded()
    end = gen2_job(f, R, 0, 2)
    fold(f, c.gen2_report(R, 0, end + 3, 2, status="completed"))
    gen2_job(f, R, end + 5, 3, ending="cancelled")
    first, second = f.jobs_of(R)
    assert (first.status, first.items_done, second.status, second.items_done) == (
        "completed",
        2,
        "cancelled",
        3,
    )
    assert second.percent_complete == 30.0  # a cancelled job keeps its real progress


def test_gen1_counter_past_its_total_keeps_counting_in_the_same_job():
    f = Folded()
    for n in range(1, 13):
        gen1_item(f, R, "QR12345", n, t=12 * n)
    [job] = f.jobs_of(R)
    assert (job.status, job.items_done, job.items_total, job.percent_complete) == ("completed", 12, 10, 100.0)
    assert job.end_time is not None and job.end_time < job.updated_at  # ended at 10, counted on
    assert job.last_item == ITEMS["QR12345"]
    assert f.messages("job") == [f"Job {job.id} started on {R}", f"Job {job.id} completed on {R}"]
    assert f.messages("command") == []


def test_unknown_codes_past_the_total_do_not_look_like_a_restart():
    """Scans of codes the catalogue lacks count neither in the job nor in the robot's counter."""
    f = Folded()
    counter = 0
    for n in range(30):
        unknown = n % 4 == 3
        if not unknown:
            counter += 1
        gen1_item(f, R, "NOPE" if unknown else "QR12345", None if unknown else counter, t=12 * n)
    [job] = f.jobs_of(R)
    assert (job.status, job.items_total) == ("completed", 10)
    assert job.items_done == counter  # the last message was the robot's counter


def test_gen1_counter_going_back_means_the_robot_restarted_a_new_job():
    f = Folded()
    for n in range(1, 12):
        gen1_item(f, R, "QR12345", n, t=n)
    gen1_item(f, R, "QR12345", 1, t=100)  # the client restarted: its counter is 1 again
    old, new = f.jobs_of(R)
    assert (old.status, new.status, new.items_done) == ("completed", "active", 1)


def test_a_robot_first_met_past_its_total_shows_its_job_completed_once_and_counting_on():
    """Its counter says `completed`: the robot's job ended before we saw it. One job, ended
    at once (as gen 2's job seen only at its end), never active at 37 of 10 for ever."""
    f = Folded()
    gen1_item(f, R, "QR12345", 37, t=0)  # first seen with the counter at 37
    gen1_item(f, R, "QR12345", 38, t=12)
    [job] = f.jobs_of(R)
    assert (job.status, job.items_done, job.percent_complete) == ("completed", 38, 100.0)
    assert f.active_job(R) is None
    assert f.messages("job") == [f"Job {job.id} started on {R}", f"Job {job.id} completed on {R}"]


def test_unknown_codes_never_take_a_job_past_its_total_nor_to_100():
    """Issue 17 row 1: the robot does not count a code the catalogue lacks (its counter
    does not move, it sends no counter message), so neither does its job."""
    f = Folded()
    gen1_item(f, R, "QR12345", 1, t=0)
    for n in range(1, 46):
        gen1_item(f, R, "NOPE", None, t=12 * n)
    [job] = f.jobs_of(R)
    assert (job.status, job.items_done, job.items_total, job.percent_complete) == ("active", 1, 10, 10.0)
    assert job.last_item == {"qr": "NOPE"}


def test_a_robot_scanning_only_unknown_codes_runs_no_job():
    """Its counter never moves: no job appears, none stays active, and /stats counts none."""
    f = Folded()
    for n in range(46):
        gen1_item(f, R, "NOPE", None, t=12 * n)
    assert f.jobs_of(R) == [] and f.active_job(R) is None
    assert f.messages("job") == []
    assert without_effect(f) == {"item_echo": 46, "scan_not_counted": 46}


def test_item_echoes_are_not_command_outcomes():
    f = Folded()
    gen1_item(f, R, "QR12345", 1, t=0)
    gen1_item(f, R, "NOPE", None, t=12)
    fold(f, c.command_response(R, "c-7", success=False, message="path blocked", t=20))
    assert f.messages("command") == [f"Command c-7 failed on {R}: path blocked"]
    assert not any("Item" in m for m in f.messages())
    assert without_effect(f) == {"item_echo": 2}


def test_gen2_keeps_its_own_last_item():
    f = Folded()
    fold(f, c.gen2_started(R, 0), c.gen2_report(R, 0, 3, 1), c.gen2_report(R, 0, 6, 2))
    assert f.active_job(R).last_item == c.gen2_item(2, 6)


def test_a_replaced_job_keeps_its_real_progress_and_says_it_was_superseded():
    f = Folded()
    gen1_item(f, R, "QR12345", 1, t=0, gen=2)
    gen1_item(f, R, "QR12345", 2, t=12, gen=2)
    fold(f, c.gen2_started(R, 20))
    old, new = f.jobs_of(R)
    assert (old.status, old.items_done, old.percent_complete) == ("superseded", 2, 20.0)
    assert old.reason == f"superseded by job {new.id}" and old.end_time == new.start_time
    assert new.status == "active"
    lines = {line.message: line.level for line in f.logs if line.category == "job"}
    assert lines[f"Job {old.id} superseded on {R}"] == "WARNING"


def test_a_gen2_start_naming_another_job_supersedes_the_running_one():
    f = Folded()
    fold(f, c.gen2_started(R, 0), c.gen2_report(R, 0, 3, 1), c.gen2_report(R, 0, 6, 2))
    fold(f, c.gen2_report(R, 50, 53, 1))  # its start was lost (QoS 0): a report names the new job
    old, new = f.jobs_of(R)
    assert (old.status, old.items_done, new.status, new.items_done) == ("superseded", 2, "active", 1)


def test_gen2_item_counter_beside_and_between_its_jobs_changes_no_job():
    f = Folded()
    fold(f, c.gen2_started(R, 0), c.gen2_report(R, 0, 3, 1))
    gen1_item(f, R, "QR12345", 23, t=4, gen=2)  # the client's counter, far past its total
    assert (f.active_job(R).items_done, f.active_job(R).status) == (1, "active")
    fold(f, c.gen2_report(R, 0, 6, 1, status="completed"))
    gen1_item(f, R, "QR12345", 24, t=8, gen=2)  # idle: no job to count in, none started
    assert [j.status for j in f.jobs_of(R)] == ["completed"]
    assert without_effect(f) == {
        "job_counter_beside_announced_job": 2,
        "job_counter_outside_job": 2,
        "item_echo": 2,
    }


def test_a_redelivered_start_of_the_running_job_changes_nothing():
    f = Folded()
    fold(f, c.gen2_started(R, 0), c.gen2_report(R, 0, 3, 1), c.gen2_report(R, 0, 6, 2))
    fold(f, c.gen2_started(R, 0))  # QoS 1: the broker delivered the announcement twice
    [job] = f.jobs_of(R)
    assert (job.status, job.items_done) == ("active", 2)
    assert without_effect(f) == {"job_repeat": 1}
