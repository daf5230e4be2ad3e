"""bench/registration_storm.py's load: one first status per robot, every robot new and
distinct, each message one ingest admits as a status event (a storm of rejections would
measure nothing)."""

import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from registration_storm import first_statuses
from tonypi_events import EventType
from tonypi_ingest.admission import Accepted, admit


def test_every_robot_sends_one_status_that_ingest_admits():
    lists = first_statuses("pfx/", 1001, 10, datetime(2026, 12, 8, 9, 0, 0))
    assert [len(m) for m in lists] == [101] + [100] * 9  # robot i on connection i % 10
    robots = Counter()
    generations = Counter()
    for topic, raw in (m for messages in lists for m in messages):
        assert topic.startswith("pfx/tonypi/status/")
        verdict = admit(topic.removeprefix("pfx/"), raw, datetime.now(UTC))
        assert isinstance(verdict, Accepted), verdict
        assert verdict.event.event_type is EventType.STATUS
        assert verdict.event.payload["status"] == "online"
        robots[verdict.event.robot_id] += 1
        generations["ip_address" in verdict.event.payload] += 1
    assert len(robots) == 1001 and set(robots.values()) == {1}
    assert generations == {False: 501, True: 500}  # firmware generations 1 and 2 alternate


def test_fewer_robots_than_connections_leaves_no_connection_empty():
    assert [len(m) for m in first_statuses("", 3, 200, datetime(2026, 12, 8))] == [1, 1, 1]
