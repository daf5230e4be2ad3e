"""A simulated robot keeps the real cadence and habits (docs/contract/MQTT.md, "What the
robots' client really does"), and `speed` compresses time."""

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from tonypi_cli import fleet
from tonypi_cli.behaviour import ITEMS_PER_JOB, RobotBehaviour
from tonypi_events.items import load_item_catalogue

CATALOGUE = load_item_catalogue()


def reply_to(scan: fleet.Message) -> fleet.Payload:
    """What ingest answers on tonypi/items/{robot_id} (found or not, MQTT.md's shapes)."""
    qr = scan.payload.get("qr") or scan.payload["qr_data"]
    base = {"robot_id": scan.payload["robot_id"], "qr": qr, "timestamp": scan.payload["timestamp"]}
    if qr in CATALOGUE:
        return {**base, "found": True, "item": CATALOGUE[qr]}
    return {**base, "found": False, "message": "Item not found"}


def run_for(behaviour: RobotBehaviour, seconds: float, step: float = 0.05) -> list[fleet.Message]:
    """The robot's messages over `seconds`, each scan answered as ingest answers it."""
    start = datetime(2026, 11, 26, 10, 0, 0)
    now = [0.0]
    behaviour.clock = lambda: start + timedelta(seconds=now[0])
    out = behaviour.start(0.0)
    t = 0.0
    while t < seconds:
        t = round(t + step, 6)
        now[0] = t * behaviour.speed
        for message in behaviour.tick(t):
            out.append(message)
            if message.topic.startswith("tonypi/scan/"):
                out += behaviour.answer_item(reply_to(message))
    return out + behaviour.stop(t)


def kinds(messages: list[fleet.Message]) -> Counter:
    return Counter(m.topic.split("/")[1] for m in messages)


def behaviour(generation: int, speed: float = 1.0, seed: int = 1) -> RobotBehaviour:
    return RobotBehaviour(fleet.Robot("r1", generation), random.Random(seed), speed=speed)


def test_gen1_real_cadence_over_ten_minutes():
    messages = run_for(behaviour(1), 600)
    counts = kinds(messages)
    assert counts["status"] == 10 + 2  # online on connect, every 60 s, offline at the end
    assert 299 * 10 <= counts["sensors"] <= 300 * 10  # ten sensors every 2 s
    assert 119 <= counts["location"] <= 120
    assert 19 <= counts["battery"] <= 20
    assert 25 <= counts["scan"] <= 75  # about every 12 s, at random
    assert counts["commands"] == counts["scan"]  # every item reply echoed
    found = sum(m.payload.get("success") is True for m in messages if m.topic == "tonypi/commands/response")
    assert counts["job"] == found  # each found item moves the counter on
    assert not {"servos", "vision", "logs"} & counts.keys()


def test_gen2_cadence_and_speed_compresses_time():
    slow, fast = kinds(run_for(behaviour(2), 60)), kinds(run_for(behaviour(2, speed=10), 6))
    assert slow["status"] == 1 + 6 + 1  # every 10 s
    assert 19 <= slow["servos"] <= 20 and 2 <= slow["logs"] <= 3  # every 3 s, every 30 s
    assert slow["job"] >= 20  # its job reports, every 3 s, besides the counter's progress
    for kind in ("sensors", "location", "battery", "servos", "status"):
        assert abs(slow[kind] - fast[kind]) <= max(2, slow[kind] * 0.1), kind


def test_echoes_carry_no_command_id_and_the_reply():
    messages = run_for(behaviour(1), 120)
    echoes = [m.payload for m in messages if m.topic == "tonypi/commands/response"]
    assert echoes and all("command_id" not in e for e in echoes)
    for echo in echoes:
        assert set(echo) == {"robot_id", "timestamp", "success", "item", "message"}
        assert echo["message"] == ("Item info" if echo["success"] else "Item not found")
        assert (echo["item"] is None) == (not echo["success"])


def test_the_item_counter_never_resets():
    robot = behaviour(1, seed=3)
    counters = [m.payload for m in run_for(robot, 400) if m.topic.startswith("tonypi/job/")]
    assert [c["items_done"] for c in counters] == list(range(1, len(counters) + 1))
    assert len(counters) > ITEMS_PER_JOB
    past = counters[ITEMS_PER_JOB]
    assert (past["items_done"], past["percent"], past["status"]) == (11, 110.0, "completed")
    assert robot.jobs_started == 1


def test_gen2_jobs_report_every_3s_and_repeat_their_ending_until_the_next_starts():
    robot = behaviour(2, seed=5)
    reports = [
        m.payload
        for m in run_for(robot, 900)
        if m.topic.startswith("tonypi/job/") and "start_time" in m.payload
    ]
    starts = [r for r in reports if r["status"] == "started"]
    assert len(starts) >= 3 and robot.jobs_started == len(starts)
    assert len({s["start_time"] for s in starts}) == len(starts)
    for report in reports:
        assert report["start_time"] in {s["start_time"] for s in starts}
    by_job: dict[str, list[dict]] = {}
    for report in reports:
        by_job.setdefault(report["start_time"], []).append(report)
    for job in list(by_job.values())[:-1]:
        statuses = [r["status"] for r in job]
        assert statuses[0] == "started" and statuses[1] == "working"
        ending = statuses[-1]
        assert ending in ("completed", "cancelled")
        ended = [r for r in job if r["status"] == ending]
        assert len(ended) >= 2  # the ending, then its repeats every 3 s
        assert len({r["end_time"] for r in ended}) == len(ended)  # a new end_time each time
        assert all(r["status"] in ("started", "working") for r in job[: len(job) - len(ended)])
        working = [r for r in job if r["status"] == "working" and r["items_done"]]
        assert all(r["last_item"]["item_id"].startswith("ITEM_") for r in working)


def test_answers_commands_with_their_id():
    robot = behaviour(1)
    robot.start(0.0)
    [answer] = robot.answer_command({"type": "battery_request", "id": "c-42"})
    assert answer.topic == "tonypi/commands/response"
    assert answer.payload["command_id"] == "c-42" and answer.payload["data"]["percentage"] > 0


def test_obeys_refuses_and_stops_like_the_real_client():
    gen1, gen2 = behaviour(1), behaviour(2)
    gen1.start(0.0)
    gen2.start(0.0)
    [unknown] = gen1.answer_command({"type": "head_nod", "id": "c1"})  # gen 2 only
    assert unknown.payload["success"] is False and unknown.payload["message"] == "Unknown command"
    [unknown] = gen2.answer_command({"type": "dance", "id": "c2"})
    assert unknown.payload["message"] == "Unknown command"
    stop_answers = gen2.emergency_stop({"type": "emergency_stop", "reason": "test", "id": "s1"})
    topics = [m.topic for m in stop_answers]
    assert topics[:2] == ["tonypi/emergency_stop/response", "tonypi/commands/response"]
    assert all(m.payload["command_id"] == "s1" for m in stop_answers[:2])
    assert stop_answers[2].payload["status"] == "emergency_stopped" and gen2.emergency_stopped
    [refused] = gen2.answer_command({"type": "move", "id": "c3"})
    assert refused.payload["success"] is False and "Emergency stop" in refused.payload["message"]
    for allowed in ("status_request", "battery_request"):
        [ok] = gen2.answer_command({"type": allowed, "id": "c4"})
        assert ok.payload["success"] is True
    resumed = gen2.answer_command({"type": "resume", "id": "c5"})
    assert resumed[0].payload["success"] is True and not gen2.emergency_stopped
    assert resumed[1].payload["status"] == "online"
    [moved] = gen2.answer_command({"type": "move", "id": "c6"})
    assert moved.payload["success"] is True and moved.payload["command_id"] == "c6"


@pytest.mark.parametrize("kind", ["head_nod", "head_shake", "resume", "start_job", "stop_job", "set_servo"])
def test_gen1_answers_every_gen2_and_simulator_type_unknown(kind):
    """A mixed fleet: gen 1 takes only its own five types (MQTT.md)."""
    gen1 = behaviour(1)
    gen1.start(0.0)
    [answer] = gen1.answer_command({"type": kind, "id": "c1", "task_name": "T", "items_total": 2})
    assert (answer.payload["success"], answer.payload["message"]) == (False, "Unknown command")
    assert gen1.job is None and gen1.jobs_started == 0


def test_the_gen2_simulator_starts_and_stops_the_job_it_is_told_to():
    gen2 = behaviour(2)
    gen2.start(0.0)  # announces its own first job
    first = gen2.job
    answer, started = gen2.answer_command(
        {"type": "start_job", "id": "j1", "task_name": "Pick", "items_total": 3}
    )
    assert answer.payload["success"] is True and answer.payload["command_id"] == "j1"
    assert started.topic == "tonypi/job/r1"
    assert (started.payload["status"], started.payload["task_name"], started.payload["items_total"]) == (
        "started",
        "Pick",
        3,
    )
    assert answer.payload["data"]["start_time"] == started.payload["start_time"] == gen2.job.start_time
    assert first.status == "cancelled" and gen2.jobs_started == 2
    answer, ended = gen2.answer_command({"type": "stop_job", "id": "j2"})
    assert answer.payload["success"] is True
    assert (ended.payload["status"], ended.payload["start_time"]) == (
        "cancelled",
        started.payload["start_time"],
    )
    [again] = gen2.answer_command({"type": "stop_job", "id": "j3"})
    assert (again.payload["success"], again.payload["message"]) == (False, "No job running")
    [bad] = gen2.answer_command({"type": "start_job", "id": "j4", "task_name": "X"})
    assert bad.payload["success"] is False


def test_the_gen2_simulator_sets_a_servo_within_its_range():
    gen2 = behaviour(2)
    gen2.start(0.0)
    [answer] = gen2.answer_command({"type": "set_servo", "id": "s1", "servo_id": 3, "position": 250})
    assert answer.payload["success"] is True and answer.payload["data"] == {"servo_id": 3, "position": 90}
    assert gen2.servo_positions == {3: 90}
    [bad] = gen2.answer_command({"type": "set_servo", "id": "s2", "servo_id": "three", "position": 1})
    assert bad.payload["success"] is False
