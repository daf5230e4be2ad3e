"""A simulated robot keeps the real cadence (MQTT.md), and `speed` compresses it."""

import random
from collections import Counter
from datetime import datetime

from tonypi_cli import fleet
from tonypi_cli.behaviour import ITEMS_PER_JOB, RobotBehaviour


def run_for(behaviour: RobotBehaviour, seconds: float, step: float = 0.05) -> list[fleet.Message]:
    out = behaviour.start(0.0)
    t = 0.0
    while t < seconds:
        t = round(t + step, 6)
        out += behaviour.tick(t)
    return out + behaviour.stop(t)


def kinds(messages: list[fleet.Message]) -> Counter:
    return Counter(m.topic.split("/")[1] for m in messages)


def behaviour(generation: int, speed: float = 1.0, seed: int = 1) -> RobotBehaviour:
    return RobotBehaviour(
        fleet.Robot("r1", generation),
        random.Random(seed),
        speed=speed,
        clock=lambda: datetime(2026, 11, 26, 10, 0, 0),
    )


def test_real_cadence_over_ten_minutes():
    counts = kinds(run_for(behaviour(1), 600))
    assert counts["status"] == 10 + 2  # online on connect, every 60 s, offline at the end
    assert 299 * 10 <= counts["sensors"] <= 300 * 10  # ten sensors every 2 s
    assert 119 <= counts["location"] <= 120
    assert 19 <= counts["battery"] <= 20
    assert 25 <= counts["scan"] <= 75  # about every 12 s, at random
    assert counts["job"] >= counts["scan"] * 0.7  # each found item moves the job on
    assert not {"servos", "vision", "logs"} & counts.keys()


def test_gen2_adds_its_topics_and_speed_compresses_time():
    slow, fast = kinds(run_for(behaviour(2), 60)), kinds(run_for(behaviour(2, speed=10), 6))
    assert {"servos", "vision"} <= slow.keys()
    for kind in ("sensors", "location", "battery", "servos"):
        assert abs(slow[kind] - fast[kind]) <= max(2, slow[kind] * 0.1), kind


def test_jobs_complete_after_their_items_and_start_again():
    robot = behaviour(2, seed=5)
    messages = [m for m in run_for(robot, 400) if m.topic.split("/")[1] in ("job", "scan")]
    jobs = [m.payload for m in messages if m.topic.startswith("tonypi/job/")]
    statuses = [j["status"] for j in jobs]
    assert statuses[0] == "started" and "completed" in statuses
    first_completed = statuses.index("completed")
    assert jobs[first_completed]["items_done"] == ITEMS_PER_JOB
    assert statuses[first_completed + 1] == "started"  # the next scan starts a new job
    # A job is announced before its first scan, so the server never starts one from a scan
    # only to end it at the robot's "started".
    kinds_in_order = [(m.topic.split("/")[1], m.payload.get("status")) for m in messages]
    for i, (_kind, status) in enumerate(kinds_in_order):
        if status == "started":
            assert kinds_in_order[i + 1][0] == "scan"
            assert i == 0 or kinds_in_order[i - 1] == ("job", "completed")


def test_answers_commands_with_their_id():
    robot = behaviour(1)
    robot.start(0.0)
    answer = robot.answer_command({"type": "battery_request", "id": "c-42"})
    assert answer.topic == "tonypi/commands/response"
    assert answer.payload["command_id"] == "c-42" and answer.payload["data"]["percentage"] > 0
