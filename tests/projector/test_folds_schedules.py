"""Scheduled job dispatches, pure folds (docs/schedules.md): what each clock tick fires,
for whom, and what is recorded when a robot cannot take it. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tonypi_events import SCHEDULES, EventEnvelope, EventType, encode
from tonypi_events.clock import tick_event
from tonypi_projector.batch import StreamEvent, fold_batch
from tonypi_projector.folds import RobotState
from tonypi_projector.folds.commands import CommandBook
from tonypi_projector.folds.schedules import ScheduleBook, command_id

from tests.projector.folding import ITEMS
from tests.projector.support import BASE_TIME, event

T0 = BASE_TIME.replace(hour=11, minute=58)  # two minutes before noon
ALICE = {"name": "alice", "role": "operator"}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Plant:
    """Folds events one batch at a time, keeping the schedule book and every row written."""

    def __init__(self) -> None:
        self.states: dict[str, RobotState] = {}
        self.book = ScheduleBook()
        self.commands = CommandBook()
        self.seq = 0
        self.schedules: dict = {}
        self.firings: dict = {}
        self.logs: list = []

    def fold(self, *events: EventEnvelope) -> None:
        batch = []
        for ev in events:
            self.seq += 1
            batch.append(StreamEvent(self.seq, encode(ev), ev))
        changes = fold_batch(self.states, batch, ITEMS, self.commands, None, self.book)
        assert not changes.dead_letters, changes.dead_letters
        self.schedules.update(changes.schedules)
        self.firings.update(changes.firings)
        self.logs.extend(changes.logs)

    def online(self, robot: str, t: float, *, hardware: bool | None = False) -> None:
        """A status as the gen-2 simulator sends it (it takes start_job); `hardware`: True,
        the gen-2 hardware client's; None, a gen-1 client's (neither takes start_job)."""
        status = (
            {"status": "online"} if hardware is None else {"status": "online", "hardware_available": hardware}
        )
        self.fold(event(EventType.STATUS, robot, status, at=at(t)))

    def schedule(self, sid: str, robots: list[str], t: float, **when) -> None:
        payload = {
            "schedule_id": sid,
            "robot_ids": robots,
            "task_name": "Transport",
            "items_total": 5,
            "timeout_s": 10,
            "actor": ALICE,
            **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in when.items()},
        }
        self.fold(event(EventType.JOB_SCHEDULED, SCHEDULES, payload, at=at(t)))

    def change(self, kind: EventType, sid: str, t: float) -> None:
        self.fold(event(kind, SCHEDULES, {"schedule_id": sid, "actor": ALICE}, at=at(t)))

    def tick(self, t: float) -> None:
        self.fold(tick_event(at(t), 5, 90))

    def requested(self, cid: str, robot: str, t: float) -> None:
        payload = {
            "command_id": cid,
            "type": "start_job",
            "params": {"task_name": "Transport", "items_total": 5},
            "timeout_s": 10,
            "robot_online": True,
            "actor": ALICE,
        }
        self.fold(event(EventType.COMMAND_REQUESTED, robot, payload, at=at(t)))

    def firing_states(self) -> list[tuple[str, str, str | None]]:
        rows = sorted(self.firings.values(), key=lambda f: (f.due_at, f.command_id))
        return [(f.robot_id, f.state, f.reason) for f in rows]


def test_a_one_off_fires_once_for_each_online_robot_and_records_the_offline_one():
    p = Plant()
    p.online("r1", 0)
    p.online("r2", 0)
    p.schedule("s1", ["r1", "r2", "r3"], 1, at=at(60))
    p.tick(55)
    assert p.firings == {}
    p.fold(event(EventType.BATTERY, "r1", {"percentage": 80}, at=at(56)))
    p.tick(60)
    assert p.firing_states() == [
        ("r1", "due", None),
        ("r2", "due", None),
        ("r3", "missed", "unknown robot"),
    ]
    p.tick(65)
    p.tick(70)  # fired once: nothing more
    assert len(p.firings) == 3
    s = p.schedules["s1"]
    assert (s.state, s.next_fire_at, s.fired) == ("done", None, 1)
    assert p.firings[command_id("s1", at(60), 0)].robot_id == "r1"


def test_a_robot_gone_silent_misses_its_firing_with_that_reason():
    p = Plant()
    p.online("r1", 0)
    p.schedule("s1", ["r1"], 1, at=at(200))
    p.tick(100)  # 100 s of silence: offline (timeout 90)
    p.tick(200)
    assert p.firing_states() == [("r1", "missed", "robot offline")]


def test_a_robot_whose_firmware_cannot_take_start_job_misses_with_unsupported():
    """Never sent to be refused: gen 1 and gen-2 hardware answer start_job "Unknown command"."""
    p = Plant()
    p.online("sim", 0)
    p.online("hw", 0, hardware=True)
    p.online("g1", 0, hardware=None)
    p.schedule("s1", ["sim", "hw", "g1"], 1, at=at(30))
    p.tick(30)
    assert p.firing_states() == [
        ("sim", "due", None),
        ("hw", "missed", "unsupported: gen2 firmware does not take start_job"),
        ("g1", "missed", "unsupported: gen1 firmware does not take start_job"),
    ]


def test_the_appended_command_marks_the_firing_dispatched():
    p = Plant()
    p.online("r1", 0)
    p.schedule("s1", ["r1"], 1, at=at(30))
    p.tick(30)
    cid = command_id("s1", at(30), 0)
    p.requested(cid, "r1", 31)
    f = p.firings[cid]
    assert (f.state, f.dispatched_at) == ("dispatched", at(31))
    p.requested(cid, "r1", 32)  # a second copy (it cannot be: deduplicated) changes nothing
    assert p.firings[cid].dispatched_at == at(31)


def test_a_firing_nobody_dispatched_is_recorded_missed():
    p = Plant()
    p.online("r1", 0)
    p.schedule("s1", ["r1"], 1, at=at(30))
    p.tick(30)
    p.online("r1", 60)
    p.tick(115)
    assert p.firing_states() == [("r1", "due", None)]
    p.tick(120)  # 90 s after its tick
    [(robot, state, reason)] = p.firing_states()
    assert (robot, state, reason) == (
        "r1",
        "missed",
        "not dispatched: no query service appended its command in time",
    )


def test_cron_fires_each_occurrence_and_pause_resume_cancel():
    p = Plant()
    p.online("r1", 0)
    p.schedule("s1", ["r1"], 1, cron="* * * * *")  # every minute, from 11:59
    assert p.schedules["s1"].next_fire_at == at(60)
    for t in (60, 65, 90, 115):  # r1 speaks in between, so it stays online
        p.online("r1", t - 1)
        p.tick(t)
    assert [f.due_at for f in p.firings.values()] == [at(60)]
    p.online("r1", 119)
    p.tick(120)
    assert sorted(f.due_at for f in p.firings.values()) == [at(60), at(120)]
    p.change(EventType.SCHEDULE_PAUSED, "s1", 121)
    p.online("r1", 179)
    p.tick(180)  # paused: no firing
    p.change(EventType.SCHEDULE_RESUMED, "s1", 200)
    assert p.schedules["s1"].next_fire_at == at(240)  # the next one after the resume
    p.online("r1", 239)
    p.tick(240)
    p.change(EventType.SCHEDULE_CANCELLED, "s1", 241)
    p.online("r1", 299)
    p.tick(300)
    assert sorted(f.due_at for f in p.firings.values()) == [at(60), at(120), at(240)]
    assert (p.schedules["s1"].state, p.schedules["s1"].fired) == ("cancelled", 3)
    assert [line.message for line in p.logs if line.category == "schedule"] == [
        "Job 'Transport' (5 items) scheduled on '* * * * *' (UTC) for r1 by alice (operator)",
        "Schedule s1 paused by alice (operator)",
        "Schedule s1 resumed by alice (operator)",
        "Schedule s1 cancelled by alice (operator)",
    ]


def test_occurrences_the_clock_reached_late_are_each_recorded_missed():
    """No projector ran (no ticks) for five minutes: every occurrence is recorded, none skipped."""
    p = Plant()
    p.online("r1", 0)
    p.schedule("s1", ["r1"], 1, cron="* * * * *")
    p.online("r1", 419)
    p.tick(420)  # 11:59 .. 12:05: seven occurrences, five of them more than 60 s late
    assert [(f.due_at, f.state) for f in sorted(p.firings.values(), key=lambda f: f.due_at)] == [
        *((at(60 * k), "missed") for k in range(1, 6)),
        (at(360), "due"),  # 60 s: not later than LATE_AFTER
        (at(420), "due"),
    ]
    assert all(f.reason.startswith("late: ") for f in p.firings.values() if f.state == "missed")


def test_replaying_the_same_events_in_other_batches_gives_the_same_rows():
    def run(batch: int) -> tuple:
        p = Plant()
        evs = [
            event(EventType.STATUS, "r1", {"status": "online"}, at=at(0)),
            event(
                EventType.JOB_SCHEDULED,
                SCHEDULES,
                {
                    "schedule_id": "s1",
                    "robot_ids": ["r1", "r2"],
                    "task_name": "T",
                    "items_total": 3,
                    "timeout_s": 10,
                    "cron": "*/2 * * * *",
                    "actor": ALICE,
                },
                at=at(1),
            ),
            tick_event(at(120), 5, 300),
            tick_event(at(240), 5, 300),
        ]
        for i in range(0, len(evs), batch):
            p.fold(*evs[i : i + batch])
        return sorted(p.firings.values(), key=lambda f: f.command_id), sorted(p.schedules.items())

    assert run(1) == run(2) == run(4)


@pytest.mark.parametrize(
    "when",
    [
        {},  # neither
        {"at": "2026-11-26T12:00:00+00:00", "cron": "* * * * *"},  # both
        {"at": "2026-11-26T12:00:00"},  # no offset: not comparable with the stream's time
        {"cron": "61 * * * *"},  # cronsim refuses it
    ],
)
def test_a_schedule_event_the_api_would_never_write_is_dead_lettered_and_ticks_go_on(when):
    """Never folded: a schedule that cannot be compared with the clock would otherwise make
    every tick fail (and with it offline detection and timeouts)."""
    p = Plant()
    payload = {"schedule_id": "bad", "robot_ids": ["r1"], "task_name": "T", "items_total": 1}
    payload.update(timeout_s=10, actor=ALICE, **when)
    p.seq += 1
    ev = event(EventType.JOB_SCHEDULED, SCHEDULES, payload, at=at(1))
    changes = fold_batch(p.states, [StreamEvent(p.seq, encode(ev), ev)], ITEMS, p.commands, None, p.book)
    assert len(changes.dead_letters) == 1 and p.book.schedules == {}
    p.online("r1", 2)
    p.tick(200)  # folds (Plant.fold asserts no dead letter)
    assert not p.states["r1"].robot.online
