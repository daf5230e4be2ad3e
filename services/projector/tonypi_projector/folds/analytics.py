"""Analytics per robot and UTC day, folded from what each event did (docs/analytics.md).

Pure: `accrue` runs after an event's own folds (and after a clock tick's), compares the
robot's state before and after, and adds to `FoldContext.analytics`; the store adds the
batch's sums to the analytics tables (additive upserts), so however the stream is cut into
batches, live and replayed tables hold the same integers.

- utilization: microseconds online and busy (online with an active job). The robot's row
  carries `accrued_at`, the stream time up to which its time is counted. Time is counted
  whenever its online or busy state changes (an operator's "offline", the clock finding it
  silent), and at a message of the robot a minute or more after the last count (or on
  another UTC day), with the state it had over that span, split at UTC midnights. A robot
  the clock finds silent counts online up to `last_seen + offline_after_s`, not the tick.
- job outcomes: each job ending (completed, failed, cancelled, superseded), by the day of
  its end and the template of its reason.
- performance: completed jobs: count, items, duration (end - start, the stream's times), and
  fixed-bucket histograms of the duration and of duration / the robot's own estimate.
- errors: lines about a robot at WARNING and above, by level and message template.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from tonypi_runtime.text import escape_text

from ..rows import Job, LogEntry, evolve
from .context import FoldContext, RobotState
from .templates import message_template

ONE_US = timedelta(microseconds=1)
# A robot's time is counted at its message once this much has passed since it was last
# counted (or on another day), and at every change of state: most messages cost nothing.
ACCRUE_EVERY = timedelta(seconds=60)
ERROR_LEVELS = frozenset({"WARNING", "WARN", "ERROR", "CRITICAL", "FATAL"})
EXAMPLE_CHARS = 500
NO_REASON = ""
# Histogram upper bounds (`le`), the last bucket open: seconds, and duration / estimate.
DURATION_BOUNDS_S = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)
RATIO_BOUNDS = (0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)
DURATION, VS_ESTIMATE = "duration_s", "vs_estimate"
INF = float("inf")


@dataclass
class Analytics:
    """Additive deltas, keyed as the tables' primary keys."""

    utilization: dict[tuple[str, date], list[int]] = field(default_factory=dict)  # [online_us, busy_us]
    outcomes: dict[tuple[str, date, str, str], int] = field(default_factory=dict)
    performance: dict[tuple[str, date], list[int]] = field(default_factory=dict)  # [jobs, items, us]
    buckets: dict[tuple[str, date, str, float], int] = field(default_factory=dict)
    errors: dict[tuple[str, date, str, str], list] = field(default_factory=dict)  # [count, example]

    def __bool__(self) -> bool:
        return bool(self.utilization or self.outcomes or self.performance or self.buckets or self.errors)

    def merge(self, other: Analytics) -> None:
        for key, (online, busy) in other.utilization.items():
            _add(self.utilization, key, [online, busy])
        for key, n in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + n
        for key, values in other.performance.items():
            _add(self.performance, key, values)
        for key, n in other.buckets.items():
            self.buckets[key] = self.buckets.get(key, 0) + n
        for key, (n, example) in other.errors.items():
            kept = self.errors.get(key)
            self.errors[key] = [n, example] if kept is None else [kept[0] + n, kept[1]]  # first example


def _add(table: dict, key: tuple, values: list[int]) -> None:
    kept = table.get(key)
    table[key] = list(values) if kept is None else [a + b for a, b in zip(kept, values, strict=True)]


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def delta(ctx: FoldContext) -> Analytics:
    """The event's analytics deltas, made on first use (most events add none)."""
    if ctx.analytics is None:
        ctx.analytics = Analytics()
    return ctx.analytics


def split_days(start: datetime, end: datetime) -> list[tuple[date, int]]:
    """[start, end) as (UTC day, microseconds) pieces; nothing when end <= start."""
    if start.tzinfo is not UTC or end.tzinfo is not UTC:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.date() == end.date():  # the common case: one day
        return [(start.date(), (end - start) // ONE_US)] if start < end else []
    pieces: list[tuple[date, int]] = []
    while start < end:
        midnight = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), UTC)
        stop = min(end, midnight)
        pieces.append((start.date(), (stop - start) // ONE_US))
        start = stop
    return pieces


def bucket(value: float, bounds: tuple[float, ...]) -> float:
    """The upper bound of the bucket holding `value` (inf for the open last one)."""
    i = bisect.bisect_left(bounds, value)
    return float(bounds[i]) if i < len(bounds) else INF


def _flags(state: RobotState) -> tuple[bool, bool]:
    robot = state.robot
    online = robot is not None and robot.online and robot.is_active
    return online, online and state.job is not None


def _count_time(
    ctx: FoldContext, robot_id: str, start: datetime, end: datetime, flags: tuple[bool, bool]
) -> None:
    online, busy = flags
    if not online:
        return
    for day, us in split_days(start, end):
        _add(delta(ctx).utilization, (robot_id, day), [us, us if busy else 0])


def _utilization(
    ctx: FoldContext, before: RobotState, after: RobotState, robot_event: bool, online_until: datetime | None
) -> RobotState:
    robot = after.robot
    if robot is None:
        return after
    flags = _flags(before)
    mark = before.robot.accrued_at if before.robot is not None else None
    if flags == _flags(after) and robot.accrued_at is not None:
        if not robot_event:
            return after
        if mark is not None and ctx.at - mark < ACCRUE_EVERY and ctx.at.date() == mark.date():
            return after  # counted at the next message a minute on, or at the next change
    if mark is not None and ctx.at <= mark:
        return after  # a message received before the last one counted: nothing to add
    if mark is not None:
        end = ctx.at if online_until is None else max(mark, min(ctx.at, online_until))
        _count_time(ctx, robot.robot_id, mark, end, flags)
    return evolve(after, robot=evolve(robot, accrued_at=ctx.at))


def _ended(before: RobotState, jobs: list[Job]) -> list[Job]:
    """The jobs this event ended (not the last ended one, whose counter may run on)."""
    last = before.last_job.id if before.last_job is not None else None
    return [j for j in jobs if not j.is_active and j.end_time is not None and j.id != last]


def _jobs(ctx: FoldContext, before: RobotState) -> None:
    for job in _ended(before, ctx.jobs):
        day = day_of(job.end_time)
        reason = message_template(job.reason) if job.reason else NO_REASON
        key = (job.robot_id, day, job.status, reason)
        outcomes = delta(ctx).outcomes
        outcomes[key] = outcomes.get(key, 0) + 1
        if job.status != "completed":
            continue
        us = max(0, (job.end_time - job.start_time) // ONE_US)
        _add(delta(ctx).performance, (job.robot_id, day), [1, job.items_done, us])
        seconds = us / 1e6
        b = delta(ctx).buckets
        k = (job.robot_id, day, DURATION, bucket(seconds, DURATION_BOUNDS_S))
        b[k] = b.get(k, 0) + 1
        if job.estimated_duration is not None and job.estimated_duration > 0:
            k = (job.robot_id, day, VS_ESTIMATE, bucket(seconds / job.estimated_duration, RATIO_BOUNDS))
            b[k] = b.get(k, 0) + 1


def _errors(ctx: FoldContext, logs: list[LogEntry]) -> None:
    for line in logs:
        if line.robot_id is None or line.level not in ERROR_LEVELS:
            continue
        key = (line.robot_id, day_of(line.timestamp), line.level, message_template(line.message))
        errors = delta(ctx).errors
        kept = errors.get(key)
        if kept is None:
            errors[key] = [1, escape_text(line.message, EXAMPLE_CHARS)]
        else:
            kept[0] += 1


def accrue(
    ctx: FoldContext,
    before: RobotState,
    after: RobotState,
    *,
    robot_event: bool,
    online_until: datetime | None = None,
) -> RobotState:
    """After an event's folds: its analytics deltas into `ctx.analytics`, and the robot's
    `accrued_at` moved on when its time was counted. `robot_event`: the robot's own message;
    `online_until`: a silent robot's last online instant (a clock tick)."""
    _jobs(ctx, before)
    _errors(ctx, ctx.logs)
    return _utilization(ctx, before, after, robot_event, online_until)
