"""Going offline and coming back each leave one system_logs line (issue 17 row 9): pure
folds of the stream's clock and the robots' messages, no I/O."""

from __future__ import annotations

from tonypi_events import EventType
from tonypi_events.clock import tick_event

from tests.projector.support import event
from tests.projector.test_folds_alarms import Fleet, at


def status_lines(f: Fleet) -> list[tuple[str, str | None, str]]:
    return [(line.level, line.robot_id, line.message) for line in f.logs if line.category == "status"]


def test_silent_then_back_leaves_one_line_each():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})  # heard at t=1
    f.tick(95)
    f.tick(100)  # still silent: no second line
    f.tick(200)
    f.send(EventType.BATTERY, "r1", {"percentage": 80})
    f.send(EventType.BATTERY, "r1", {"percentage": 80})  # online already: nothing more
    since = at(1).isoformat()
    assert status_lines(f) == [
        ("WARNING", "r1", f"Robot r1 went offline: silent since {since}"),
        ("INFO", "r1", f"Robot r1 is back online (silent since {since})"),
    ]
    silent, back = [line for line in f.logs if line.category == "status"]
    assert back.timestamp == at(201)
    assert silent.timestamp == at(95) and silent.details == {"last_seen": since, "offline_after_s": 90}


def test_a_whole_fleet_silenced_by_one_tick_gets_a_line_per_robot_with_distinct_ids():
    f = Fleet()
    for i in range(40):  # more robots than one event has log slots
        f.send(EventType.STATUS, f"r{i:02d}", {"status": "online"})
    f.tick(500)
    lines = [line for line in f.logs if line.message.startswith("Robot") and "went offline" in line.message]
    assert sorted(line.robot_id for line in lines) == [f"r{i:02d}" for i in range(40)]
    assert len({line.id for line in f.logs}) == len(f.logs)  # no id shared with any other line


def test_silent_twice_leaves_two_pairs_of_lines():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    f.tick(100)
    f.send(EventType.SENSOR, "r1", {"sensor_type": "accelerometer_x", "value": 1})  # t=101
    f.tick(300)
    f.send(EventType.LOCATION, "r1", {"x": 1, "y": 2, "z": 0})
    assert [level for level, _, _ in status_lines(f)] == ["WARNING", "INFO", "WARNING", "INFO"]
    assert len({line.id for line in f.logs}) == len(f.logs)


def test_a_clean_shutdown_is_its_own_line_and_never_looks_silent():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    f.send(EventType.STATUS, "r1", {"status": "offline"})
    f.tick(500)
    f.send(EventType.STATUS, "r1", {"status": "online"})
    assert status_lines(f) == [
        ("WARNING", "r1", "Robot r1 is now offline (was online)"),
        ("INFO", "r1", "Robot r1 is now online (was offline)"),
    ]


def test_silent_robot_whose_first_word_back_is_its_shutdown_gets_no_back_online_line():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    f.tick(500)
    f.send(EventType.STATUS, "r1", {"status": "offline"})
    assert [message for _, _, message in status_lines(f)][1:] == ["Robot r1 is now offline (was online)"]


def test_a_deleted_robot_goes_silent_without_a_line():
    f = Fleet()
    f.send(EventType.STATUS, "r1", {"status": "online"})
    f.send(EventType.ROBOT_DEACTIVATED, "r1")
    f.tick(500)
    f.send(EventType.BATTERY, "r1", {"percentage": 80})
    assert status_lines(f) == []


def test_the_lines_are_the_same_however_the_stream_is_cut_into_batches():
    def run(batch_size: int) -> list:
        f = Fleet()
        evs = [event(EventType.STATUS, f"r{i}", {"status": "online"}, at=at(i)) for i in range(5)]
        evs += [tick_event(at(200), 5, 90), event(EventType.BATTERY, "r1", {"percentage": 50}, at=at(201))]
        for i in range(0, len(evs), batch_size):
            f._keep(f.fold(*evs[i : i + batch_size]))
        return [(line.id, line.robot_id, line.message) for line in f.logs]

    assert run(1) == run(3) == run(100)
    assert sum("went offline" in m for _, _, m in run(1)) == 5
