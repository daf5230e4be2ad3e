"""The commands fold, pure: states, stream-time timeouts, broadcasts, latches, the feed record,
and the same rows however the events are cut into batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tonypi_events import FLEET, EventEnvelope, EventType, encode
from tonypi_projector.batch import StreamEvent, fold_batch
from tonypi_projector.folds.commands import CommandBook

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


def fold(events, batches=None, book=None, out=None):
    """Fold `events` cut into `batches` (sizes), carrying the book's rows between batches as the
    store would (open ones, plus those later events name). `out`: a list that gets each
    batch's changes."""
    stream = [StreamEvent(n, encode(e), e) for n, e in enumerate(events, 1)]
    sizes = batches or [len(stream)]
    states, rows, latches, feed = {}, {}, {}, []
    start = 0
    for size in sizes:
        chunk = stream[start : start + size]
        start += size
        engaged = {robot_id: latch.engaged for robot_id, latch in latches.items()}
        book = CommandBook(commands=dict(rows), engaged=engaged)
        changes = fold_batch(states, chunk, {}, book)
        rows.update(changes.commands)
        latches.update(changes.latches)
        feed.extend(changes.feed)
        if out is not None:
            out.append(changes)
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


# --- issue 16 row 4: settled only by its robot, only after it was sent ----------------------


def press(cid: str, robot_id: str = "r1", at: float = 0, engaged: bool = True, **extra) -> EventEnvelope:
    payload = {"command_id": cid, "engaged": engaged, "timeout_s": 10, "actor": ACTOR, **extra}
    return event(EventType.EMERGENCY_STOP, robot_id, payload, at)


def stop_answer(cid: str, robot_id: str = "r1", at: float = 2) -> EventEnvelope:
    payload = {"command_id": cid, "success": True, "status": "emergency_stopped", "message": "stopped"}
    return event(EventType.EMERGENCY_STOP_RESPONSE, robot_id, payload, at)


def _all(changes_list, attr):
    return [x for changes in changes_list for x in getattr(changes, attr)]


def test_an_answer_for_a_command_never_sent_is_dropped_and_counted():
    out = []
    rows, _, _ = fold([request("c1"), answer("c1", at=1)], out=out)
    assert rows["c1"].state == "requested" and rows["c1"].response is None
    [dropped] = _all(out, "answers_dropped")
    assert (dropped.reason.value, dropped.command_id, dropped.robot_id) == ("not_sent", "c1", "r1")
    assert not [log for c in out for log in c.logs if "c1 succeeded" in log.message]


def test_another_robots_answer_settles_nothing_not_even_its_stop():
    out = []
    events = [
        request("c1", "rB"),
        sent("c1", "rB"),
        answer("c1", "rA", at=2),
        press("s1", "rB", at=3),
        sent("s1", "rB", at=4),
        stop_answer("s1", "rA", at=5),
    ]
    rows, _, _ = fold(events, out=out)
    assert rows["c1"].state == "sent" and rows["s1"].state == "sent"
    reasons = [(d.reason.value, d.robot_id, d.command_robot) for d in _all(out, "answers_dropped")]
    assert reasons == [("other_robot", "rA", "rB"), ("other_robot", "rA", "rB")]
    # B's own answer still settles it.
    rows, _, _ = fold([*events, answer("c1", "rB", at=6)])
    assert rows["c1"].state == "succeeded" and rows["c1"].outcomes == {
        "rB": {"outcome": "confirmed", "message": "done"}
    }


def test_a_broadcast_collects_each_robots_own_answer_once():
    plan = {"r1": "send", "r2": "send", "r3": "send"}
    events = [
        request("b1", FLEET, robot_online=None, plan=plan),
        sent("b1", FLEET),
        answer("b1", "r1"),
        answer("b1", "r1", at=3, success=False),  # the same robot again: its first answer stands
        answer("b1", "r2", at=4, success=False),
        status("r1", 11),
    ]
    rows, _, _ = fold(events)
    b1 = rows["b1"]
    assert b1.state == "partial" and b1.finished_at == T0 + timedelta(seconds=10)
    assert {r: o["outcome"] for r, o in b1.outcomes.items()} == {
        "r1": "confirmed",
        "r2": "refused",
        "r3": "no_answer",
    }
    assert b1.response["r1"]["success"] is True


def test_a_planned_broadcast_finishes_when_every_robot_answered():
    plan = {"r1": "send", "r2": "unsupported"}
    rows, _, _ = fold(
        [request("b1", FLEET, robot_online=None, plan=plan), sent("b1", FLEET), answer("b1", "r1")]
    )
    assert rows["b1"].state == "partial" and rows["b1"].finished_at == T0 + timedelta(seconds=2)
    assert rows["b1"].outcomes["r2"] == {"outcome": "unsupported"}
    plan = {"r1": "send", "r2": "send"}
    events = [request("b2", FLEET, robot_online=None, plan=plan), sent("b2", FLEET)]
    rows, _, _ = fold([*events, answer("b2", "r1"), answer("b2", "r2", at=3)])
    assert rows["b2"].state == "succeeded"
    rows, _, _ = fold([*events, answer("b2", "r1", success=False), answer("b2", "r2", at=3, success=False)])
    assert rows["b2"].state == "failed"


def test_a_fleet_stop_on_gen1_robots_is_their_stop_never_a_confirmed_emergency_stop():
    plan = {"g1": "send_stop", "g2": "send"}
    events = [
        press("s1", FLEET, plan=plan),
        sent("s1", FLEET),
        stop_answer("s1", "g2", at=2),
        answer("s1", "g2", at=2.1),  # gen 2 answers on both topics: one outcome
        answer("s1", "g1", at=3),  # gen 1 answers its `stop`
    ]
    out = []
    rows, _, _ = fold(events, out=out)
    s1 = rows["s1"]
    assert s1.state == "partial"
    assert s1.outcomes == {
        "g1": {"outcome": "stopped", "via": "stop", "message": "done"},
        "g2": {"outcome": "confirmed", "message": "stopped"},
    }
    lines = [log.message for c in out for log in c.logs if log.category == "command"]
    assert sum("s1" in m for m in lines) == 2, lines  # one per robot's answer, not three


def test_a_gen2_stop_answered_on_both_topics_writes_one_line():
    out = []
    events = [press("s1"), sent("s1"), stop_answer("s1", at=2), answer("s1", at=2.1)]
    rows, _, _ = fold(events, out=out)
    assert rows["s1"].state == "succeeded"
    lines = [log.message for c in out for log in c.logs if log.category == "command"]
    assert lines == ["Emergency stop s1 succeeded on r1: stopped"]
    assert sum(c.without_effect.get("command_answer_repeat", 0) for c in out) == 1


def test_a_resume_with_nothing_latched_says_so():
    out = []
    fold([press("s1", engaged=False)], out=out)
    [line] = [log for c in out for log in c.logs if log.category == "emergency_stop"]
    assert "no emergency stop was latched" in line.message and "released" not in line.message
    out = []
    fold([press("s1"), press("s2", engaged=False, at=5)], batches=[1, 1], out=out)
    line = [log for c in out for log in c.logs if log.category == "emergency_stop"][-1]
    assert "Emergency stop released (resume) for r1" in line.message


def test_nothing_to_send_finishes_at_once():
    rows, _, _ = fold([press("s1", engaged=False, plan={"g1": "unsupported"})])
    assert rows["s1"].state == "partial" and rows["s1"].finished_at == T0


# --- issue 17: capabilities per robot, jobs dispatched from the API ---------------------------


def fold_states(events):
    stream = [StreamEvent(n, encode(e), e) for n, e in enumerate(events, 1)]
    states: dict = {}
    changes = fold_batch(states, stream, {}, CommandBook())
    return states, changes


def test_the_robot_row_knows_its_firmware_from_what_it_sends():
    gen2 = {"status": "online", "ip_address": "10.0.0.2", "hardware_available": True}
    sim = {"status": "online", "ip_address": "10.0.0.3", "hardware_available": False}
    states, _ = fold_states(
        [
            event(EventType.STATUS, "g1", {"status": "online", "system_info": {"cpu_percent": 3}}, 0),
            event(EventType.STATUS, "g2", gen2, 0),
            event(EventType.STATUS, "s2", sim, 0),
            event(EventType.LOG, "x2", {"level": "INFO", "message": "hi"}, 0),
            event(EventType.BATTERY, "unknown", {"percentage": 50}, 0),
        ]
    )
    firmware = {robot_id: s.robot.firmware for robot_id, s in states.items()}
    assert firmware == {"g1": "gen1", "g2": "gen2", "s2": "gen2_sim", "x2": "gen2", "unknown": None}


def test_the_job_a_start_job_command_started_carries_its_id():
    job_started = {
        "status": "started",
        "task_name": "Pick",
        "start_time": "2026-12-01T12:00:03",
        "items_total": 4,
    }
    events = [
        status("sim", 0),
        request("c1", "sim", at=1, type="start_job", params={"task_name": "Pick", "items_total": 4}),
        sent("c1", "sim", at=2),
        answer("c1", "sim", at=3),
        event(EventType.JOB, "sim", job_started, 3.1),
    ]
    states, changes = fold_states(events)
    [job] = changes.jobs.values()
    assert (job.command_id, job.task_name, job.items_total) == ("c1", "Pick", 4)
    assert states["sim"].robot.pending_start is None
    # A job the robot starts on its own after the command's deadline claims no command.
    late = [*events[:4], event(EventType.JOB, "sim", job_started, 30)]
    _, changes = fold_states(late)
    assert [j.command_id for j in changes.jobs.values()] == [None]


def test_each_robots_job_from_a_fleet_start_job_carries_the_fleet_commands_id():
    """A fleet start_job links the job each robot it was sent to then reports; a robot the
    plan left out (its firmware does not take it) is not waiting for one."""
    params = {"task_name": "Sweep", "items_total": 2}
    plan = {"simA": "send", "simB": "send", "g1": "unsupported"}

    def started(robot_id: str, at: float) -> EventEnvelope:
        job = {"status": "started", "task_name": "Sweep", "start_time": f"2026-12-01T12:00:0{int(at)}"}
        return event(EventType.JOB, robot_id, {**job, "items_total": 2}, at)

    events = [
        status("simA", 0),
        status("simB", 0),
        status("g1", 0),
        request("f1", FLEET, at=1, type="start_job", params=params, plan=plan, robot_online=None),
        started("simA", 3),
        started("simB", 4),
        started("g1", 5),  # a job of its own, whatever its name: no command asked it
    ]
    states, changes = fold_states(events)
    linked = {job.robot_id: job.command_id for job in changes.jobs.values()}
    assert linked == {"simA": "f1", "simB": "f1", "g1": None}
    assert all(s.robot.pending_start is None for s in states.values() if s.robot is not None)
    # Cut into batches anywhere, the same links (the store loads the plan's robots: applier).
    for cut in range(1, len(events)):
        stream = [StreamEvent(n, encode(e), e) for n, e in enumerate(events, 1)]
        states2: dict = {}
        jobs = {}
        for chunk in (stream[:cut], stream[cut:]):
            jobs.update(fold_batch(states2, chunk, {}, CommandBook()).jobs)
        assert {j.robot_id: j.command_id for j in jobs.values()} == linked, cut
