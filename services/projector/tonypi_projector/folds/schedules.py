"""Folding scheduled job dispatches (docs/schedules.md). Pure.

The `ScheduleBook` holds the schedules a batch can touch (every active or paused one, and
those its events name) and the firings it can move (every `due` one, and those its
commands name). Schedule events create, pause, resume and cancel; a clock tick fires every
occurrence due by its time, for each robot of the schedule: `due` when the robot is online
(its `start_job` is then appended by the query service under the firing's `command_id`),
`missed` with the reason otherwise (offline; or `unsupported`: its firmware does not take
`start_job`, so nothing is sent to be refused). A `command_requested` under that id marks it
`dispatched`. Every decision reads only the events before it (the tick's time, the robots'
projected `online`), so a replay rebuilds the same schedules and firings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cronsim import CronSim
from tonypi_events import EventEnvelope, EventType, commanding, decode_payload, kinds

from ..rows import Firing, Schedule, evolve
from .context import RobotState

ACTIVE, PAUSED, CANCELLED, DONE = "active", "paused", "cancelled", "done"
DUE, DISPATCHED, MISSED = "due", "dispatched", "missed"
# An occurrence the stream's clock reaches later than this (no projector ran, so no tick
# came) is missed, not dispatched that late.
LATE_AFTER = timedelta(seconds=60)
# The query service appends a due firing's command only within this long of its tick
# (tonypi_query.schedules.DISPATCH_WINDOW, inside the stream's 120 s duplicate window); a
# firing still not dispatched by a tick this long after is missed.
NOT_DISPATCHED_AFTER = timedelta(seconds=90)
# Occurrences one schedule fires per tick: a long outage catches up over the next ticks,
# each occurrence recorded, none skipped.
MAX_OCCURRENCES_PER_TICK = 100
START_JOB = "start_job"  # what a firing asks of each robot


def next_after(cron: str, after: datetime) -> datetime:
    """The first occurrence of `cron` (UTC) strictly after `after`."""
    return next(CronSim(cron, after))


def command_id(schedule_id: str, due_at: datetime, index: int) -> str:
    """The firing's id, and the id of the command it dispatches: the same however often the
    tick is folded, and the Nats-Msg-Id its command is appended under."""
    return f"{schedule_id}-{int(due_at.timestamp())}-{index}"


def _why_not(state: RobotState | None) -> str | None:
    robot = state.robot if state is not None else None
    if robot is None:
        return "unknown robot"
    if not robot.is_active:
        return "robot deleted"
    if not commanding.takes(robot.firmware, START_JOB):
        return f"unsupported: {robot.firmware} firmware does not take {START_JOB}"
    if not robot.online:
        return "robot offline"
    return None


@dataclass
class ScheduleBook:
    schedules: dict[str, Schedule] = field(default_factory=dict)
    firings: dict[str, Firing] = field(default_factory=dict)

    def fold(
        self, seq: int, event: EventEnvelope, robots: Mapping[str, RobotState]
    ) -> tuple[list[Schedule], list[Firing]]:
        """The schedule and firing rows this event changed."""
        kind = event.event_type
        if kind is EventType.CLOCK_TICK:
            return self._tick(seq, event.received_at, robots)
        if kind is EventType.COMMAND_REQUESTED:
            return [], self._dispatched(event)
        if kind is EventType.JOB_SCHEDULED:
            return self._scheduled(seq, event), []
        change = _CHANGES.get(kind)
        if change is None:
            return [], []
        payload: kinds.ScheduleChangedV1 = decode_payload(event)  # type: ignore[assignment]
        schedule = self.schedules.get(payload.schedule_id)
        if schedule is None:
            return [], []
        changed = change(schedule, event.received_at)
        if changed is schedule:
            return [], []
        self.schedules[changed.schedule_id] = changed
        return [changed], []

    def _scheduled(self, seq: int, event: EventEnvelope) -> list[Schedule]:
        p: kinds.JobScheduledV1 = decode_payload(event)  # type: ignore[assignment]
        if p.schedule_id in self.schedules:
            return []  # the same id twice: the first one stands
        at = event.received_at
        schedule = Schedule(
            schedule_id=p.schedule_id,
            seq=seq,
            robot_ids=list(p.robot_ids),
            task_name=p.task_name,
            items_total=p.items_total,
            timeout_s=float(p.timeout_s),
            actor=p.actor.model_dump(),
            state=ACTIVE,
            created_at=at,
            updated_at=at,
            at=p.at,
            cron=p.cron,
            next_fire_at=p.at if p.cron is None else next_after(p.cron, at),
        )
        self.schedules[schedule.schedule_id] = schedule
        return [schedule]

    def _tick(
        self, seq: int, at: datetime, robots: Mapping[str, RobotState]
    ) -> tuple[list[Schedule], list[Firing]]:
        fired: list[Firing] = []
        for firing in list(self.firings.values()):
            if firing.state == DUE and firing.fired_at + NOT_DISPATCHED_AFTER <= at:
                reason = "not dispatched: no query service appended its command in time"
                fired.append(self._put(evolve(firing, state=MISSED, reason=reason, updated_at=at)))
        changed: list[Schedule] = []
        for schedule_id in sorted(self.schedules):
            schedule = self.schedules[schedule_id]
            n = 0
            while (
                schedule.state == ACTIVE
                and schedule.next_fire_at is not None
                and schedule.next_fire_at <= at
                and n < MAX_OCCURRENCES_PER_TICK
            ):
                due_at = schedule.next_fire_at
                late = at - due_at > LATE_AFTER
                for index, robot_id in enumerate(schedule.robot_ids):
                    reason = (
                        f"late: the stream's clock reached it {int((at - due_at).total_seconds())} s "
                        "after its time (no projector was running)"
                        if late
                        else _why_not(robots.get(robot_id))
                    )
                    firing = Firing(
                        command_id=command_id(schedule_id, due_at, index),
                        schedule_id=schedule_id,
                        robot_id=robot_id,
                        due_at=due_at,
                        fired_at=at,
                        seq=seq,
                        state=MISSED if reason else DUE,
                        reason=reason,
                        updated_at=at,
                    )
                    fired.append(self._put(firing))
                following = next_after(schedule.cron, due_at) if schedule.cron else None
                schedule = evolve(
                    schedule,
                    next_fire_at=following,
                    state=ACTIVE if following is not None else DONE,
                    fired=schedule.fired + 1,
                    updated_at=at,
                )
                n += 1
            if schedule is not self.schedules[schedule_id]:
                self.schedules[schedule_id] = schedule
                changed.append(schedule)
        return changed, fired

    def _dispatched(self, event: EventEnvelope) -> list[Firing]:
        p: kinds.CommandRequestedV1 = decode_payload(event)  # type: ignore[assignment]
        firing = self.firings.get(p.command_id)
        if firing is None or firing.state == DISPATCHED:
            return []
        # A command that came after its firing was given up on still went: say so.
        at = event.received_at
        return [self._put(evolve(firing, state=DISPATCHED, reason=None, dispatched_at=at, updated_at=at))]

    def _put(self, firing: Firing) -> Firing:
        self.firings[firing.command_id] = firing
        return firing


def _paused(schedule: Schedule, at: datetime) -> Schedule:
    if schedule.state != ACTIVE:
        return schedule
    return evolve(schedule, state=PAUSED, updated_at=at)


def _resumed(schedule: Schedule, at: datetime) -> Schedule:
    """Occurrences while paused were not asked for: a recurrence goes on from the next one
    after the resume; a one-off whose time passed while paused is fired (late: missed)."""
    if schedule.state != PAUSED:
        return schedule
    following = next_after(schedule.cron, at) if schedule.cron else schedule.next_fire_at
    return evolve(schedule, state=ACTIVE, next_fire_at=following, updated_at=at)


def _cancelled(schedule: Schedule, at: datetime) -> Schedule:
    if schedule.state in (CANCELLED, DONE):
        return schedule
    return evolve(schedule, state=CANCELLED, next_fire_at=None, updated_at=at)


_CHANGES = {
    EventType.SCHEDULE_PAUSED: _paused,
    EventType.SCHEDULE_RESUMED: _resumed,
    EventType.SCHEDULE_CANCELLED: _cancelled,
}

SCHEDULE_EVENTS = frozenset({EventType.JOB_SCHEDULED, *_CHANGES})


def referenced_schedule(event: EventEnvelope) -> str | None:
    """The schedule an event names, for loading its row before the batch."""
    if event.event_type in SCHEDULE_EVENTS:
        value = event.payload.get("schedule_id")
        return value if isinstance(value, str) else None
    return None
