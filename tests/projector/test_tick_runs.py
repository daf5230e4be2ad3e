"""Pure parts of applying an offline storm in slices: a batch is cut so that each clock tick
is applied alone, and a replay's robot-state cache stays bounded (issue 18)."""

from __future__ import annotations

from datetime import timedelta

from tonypi_events import EventType
from tonypi_events.clock import tick_event
from tonypi_projector.applier import BatchApplier
from tonypi_projector.batch import StreamEvent
from tonypi_projector.folds import RobotState
from tonypi_projector.tick_slices import runs

from tests.projector.support import BASE_TIME, event


def item(seq: int, ev) -> StreamEvent:
    return StreamEvent(seq, b"", ev)


def test_each_clock_tick_is_a_run_of_its_own():
    tick = tick_event(BASE_TIME + timedelta(minutes=5), 5, 90)
    broken = tick.model_copy(update={"payload": {"period_s": "never"}})  # dead-lettered in a run
    status = event(EventType.STATUS, "r1", {"status": "online"})
    batch = [
        item(1, status),
        item(2, status),
        item(3, tick),
        item(4, tick),
        item(5, None),
        item(6, broken),
        item(7, status),
        item(8, tick),
    ]
    assert [[e.seq for e in run] for run in runs(batch)] == [[1, 2], [3], [4], [5, 6, 7], [8]]


def test_a_replays_cache_of_robot_states_is_bounded():
    applier = BatchApplier("s", {}, live=False, cache={}, cache_robots=3)
    applier.remember({"a": RobotState(), "b": RobotState()})
    applier.remember({"c": RobotState()})
    assert set(applier.cache) == {"a", "b", "c"}
    applier.remember({"d": RobotState()})  # full: emptied, the tables hold what it had
    assert set(applier.cache) == {"d"}
