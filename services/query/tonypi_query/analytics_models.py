"""The analytics and export endpoints' models (docs/analytics.md): the queries they take and
the rows they answer. Days are UTC dates; a week is the ISO week, named by its Monday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from .fields import INT64_MAX, QUERY_CONFIG, SeedRobotFilter
from .models import JobsQuery, LogsQuery

MAX_SPAN_DAYS = 366
DEFAULT_SPAN_DAYS = 30
MAX_ROWS = 10_000


class AnalyticsQuery(BaseModel):
    model_config = {**QUERY_CONFIG, "populate_by_name": True}

    from_: date | None = Field(
        None, alias="from", description=f"first day, UTC (default: {DEFAULT_SPAN_DAYS} days up to `to`)"
    )
    to: date | None = Field(None, description="last day, included, UTC (default: today)")
    robot_id: SeedRobotFilter | None = Field(None, description="only this robot")
    bucket: Literal["day", "week"] = Field("day", description="day, or ISO week (named by its Monday)")
    per_robot: bool = Field(False, description="one row per robot and bucket (default: fleet totals)")
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description=f"at most this many rows, at most {MAX_ROWS}")

    @model_validator(mode="after")
    def _span(self) -> AnalyticsQuery:
        to = self.to or datetime.now(UTC).date()
        try:
            start = self.from_ or to - timedelta(days=DEFAULT_SPAN_DAYS - 1)
        except OverflowError:
            start = date.min
        if start > to:
            raise ValueError("`from` is after `to`")
        if (to - start).days >= MAX_SPAN_DAYS:
            raise ValueError(f"at most {MAX_SPAN_DAYS} days at once")
        self.from_, self.to = start, to
        return self

    @property
    def grouped_by_robot(self) -> bool:
        return self.per_robot or self.robot_id is not None


class ErrorsQuery(AnalyticsQuery):
    limit: int = Field(20, ge=1, le=1000, description="the top this many templates, at most 1000")


class UtilizationOut(BaseModel):
    day: date = Field(description="the bucket's first day")
    robot_id: str | None = Field(description="null: the fleet's total")
    online_s: float = Field(description="seconds online (as projected from the stream's clock)")
    busy_s: float = Field(description="of them, seconds with an active job")
    utilization: float | None = Field(description="busy_s / online_s; null when never online")


class ReasonOut(BaseModel):
    status: str
    reason: str = Field(description="the reason's template (numbers and ids taken out); '' when none")
    jobs: int


class JobOutcomesOut(BaseModel):
    day: date
    robot_id: str | None
    completed: int
    failed: int
    cancelled: int
    superseded: int
    reasons: list[ReasonOut] = Field(description="the most frequent reasons, at most 10, most first")


class PerformanceOut(BaseModel):
    day: date
    robot_id: str | None
    jobs: int = Field(description="completed jobs (by the day they ended)")
    items: int
    items_per_hour: float | None = Field(description="items / total duration; exact")
    mean_duration_s: float | None
    duration_p50_s: float | None = Field(description="upper bound of the histogram bucket holding the median")
    duration_p95_s: float | None
    estimated_jobs: int = Field(description="jobs whose robot gave an estimate")
    vs_estimate_p50: float | None = Field(description="duration / estimate: bucket upper bound of the median")
    vs_estimate_p95: float | None


class ErrorPatternOut(BaseModel):
    robot_id: str | None = Field(description="null: counted over the fleet")
    level: str
    template: str
    occurrences: int
    robots: int = Field(description="robots that logged it in the range")
    first_day: date
    last_day: date
    example: str = Field(description="one message of the template, as sent (data: escape it to show it)")


ExportFormat = Literal["csv", "jsonl"]
_FORMAT = Field("csv", description="csv (cells starting = + - @ | % are prefixed with ') or jsonl")
_ALL = Field(None, ge=0, le=INT64_MAX, description="at most this many rows (default: all that match)")


class LogsExportQuery(LogsQuery):
    format: ExportFormat = _FORMAT
    limit: int | None = _ALL  # type: ignore[assignment]


class JobsExportQuery(JobsQuery):
    format: ExportFormat = _FORMAT
    limit: int | None = _ALL  # type: ignore[assignment]
