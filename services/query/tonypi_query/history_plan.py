"""Planning a telemetry history read (docs/history.md): the range, the step and the table.
Pure, no I/O.

- Range: `from` < `to`, at most MAX_SPAN; by default the last DEFAULT_SPAN up to now.
- Step: `auto` picks the least step of STEP_LADDER that gives at most AUTO_POINTS buckets;
  a step in seconds is taken if it gives at most MAX_POINTS (a day at one-minute steps).
- Source: the coarsest table whose bucket divides the step (hour, then minute, then raw
  samples): its buckets add up exactly into the step's. If the range starts before that
  table's retention, the next coarser table is read instead, with the step rounded up to
  its bucket (the response says which step and source it used).
- Buckets are aligned on the Unix epoch; a point's `t` is its bucket's start; a rollup
  bucket belongs to the range when its start does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

AUTO_POINTS = 1000
MAX_POINTS = 1500
DEFAULT_SPAN = timedelta(hours=24)
MAX_SPAN = timedelta(days=731)
MAX_METRICS = 16
FLEET_MINUTE_SPAN = timedelta(hours=6)  # the fleet form reads minutes up to this span, hours beyond
STEP_LADDER = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    2 * 86400, 7 * 86400,
)  # fmt: skip
RAW, MINUTE, HOUR = "raw", "minute", "hour"
WIDTH = {RAW: 1, MINUTE: 60, HOUR: 3600}


class PlanError(ValueError):
    """Why the request cannot be answered (422), and which parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Retention:
    raw_days: float = 14.0  # 0: kept forever
    minute_days: float = 90.0

    def oldest(self, source: str, now: datetime) -> datetime | None:
        days = {RAW: self.raw_days, MINUTE: self.minute_days}.get(source, 0)
        return now - timedelta(days=days) if days > 0 else None


@dataclass(frozen=True)
class Plan:
    start: datetime
    end: datetime
    step_s: int
    source: str


def time_range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = end or now
    try:
        start = start or end - DEFAULT_SPAN
    except OverflowError:  # `to` within a day of year 1
        raise PlanError("to", "`to` is too early: the range would start before year 1") from None
    if start >= end:
        raise PlanError("from", f"`from` ({start.isoformat()}) must be before `to` ({end.isoformat()})")
    if end - start > MAX_SPAN:
        raise PlanError("from", f"the range may span at most {MAX_SPAN.days} days")
    return start, end


def _step(step: str, span_s: float) -> int:
    if step == "auto":
        for candidate in STEP_LADDER:
            if span_s / candidate <= AUTO_POINTS:
                return candidate
        return STEP_LADDER[-1]
    if not step.isdigit() or not 1 <= int(step) <= STEP_LADDER[-1]:
        raise PlanError("step", f"step must be `auto` or whole seconds from 1 to {STEP_LADDER[-1]}")
    value = int(step)
    points = math.ceil(span_s / value)
    if points > MAX_POINTS:
        raise PlanError("step", f"step {value} s gives {points} points per series; at most {MAX_POINTS}")
    return value


def _source(step_s: int, start: datetime, now: datetime, retention: Retention) -> tuple[str, int]:
    order = (RAW, MINUTE, HOUR)
    source = next(s for s in reversed(order) if step_s % WIDTH[s] == 0)
    index = order.index(source)
    while source != HOUR:
        oldest = retention.oldest(source, now)
        if oldest is None or start >= oldest:
            break
        index += 1
        source = order[index]
        step_s = math.ceil(step_s / WIDTH[source]) * WIDTH[source]
    return source, step_s


def plan(
    start: datetime | None, end: datetime | None, step: str, now: datetime, retention: Retention
) -> Plan:
    start, end = time_range(start, end, now)
    step_s = _step(step, (end - start).total_seconds())
    source, step_s = _source(step_s, start, now, retention)
    return Plan(start, end, step_s, source)


def export_source(start: datetime, now: datetime, retention: Retention) -> str:
    """The export: the finest table that still keeps `start` (raw samples, else the minute
    rollups, else the hour rollups)."""
    return _source(1, start, now, retention)[0]


def fleet_source(start: datetime, end: datetime, now: datetime, retention: Retention) -> str:
    """The fleet form: per-minute rollups for short ranges still kept, per-hour beyond."""
    oldest = retention.oldest(MINUTE, now)
    if end - start <= FLEET_MINUTE_SPAN and (oldest is None or start >= oldest):
        return MINUTE
    return HOUR
