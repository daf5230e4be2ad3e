"""Telemetry history requests and responses (docs/history.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from tonypi_events import metrics_vocabulary as vocab

from .fields import QUERY_CONFIG, RobotId, TimeFilter, UtcDateTime
from .history_plan import MAX_METRICS

FROM_FIELD = Field(
    None, alias="from", description="start of the range (ISO 8601; no offset means UTC); default: `to` - 24 h"
)
TO_FIELD = Field(
    None, description="end of the range, exclusive (ISO 8601; no offset means UTC); default: now"
)


def _known(name: str) -> str:
    if not vocab.is_metric(name):
        raise ValueError(f"unknown metric {name[:80]!r}: GET /api/robots-db/metrics lists the vocabulary")
    return name


def _split(values: object) -> object:
    """`metric=a&metric=b` and `metric=a,b` alike."""
    if isinstance(values, str):
        values = [values]
    if isinstance(values, list):
        return [part.strip() for v in values if isinstance(v, str) for part in v.split(",") if part.strip()]
    return values


MetricName = Annotated[str, Field(max_length=80), AfterValidator(_known)]


class RobotHistoryPath(BaseModel):
    robot_id: RobotId


class _MetricsOverTime(BaseModel):
    """What a history read and a history export both take: the metrics and the range."""

    model_config = QUERY_CONFIG

    metric: Annotated[list[MetricName], BeforeValidator(_split)] = Field(
        min_length=1,
        max_length=MAX_METRICS,
        description=f"one to {MAX_METRICS} metric names (repeat the parameter or separate by commas)",
    )
    from_: TimeFilter | None = FROM_FIELD
    to: TimeFilter | None = TO_FIELD


class HistoryQuery(_MetricsOverTime):
    step: str = Field(
        "auto",
        max_length=12,
        description="`auto` (at most 1000 points) or a bucket width in whole seconds (at most 1500 points)",
    )


class HistoryExportQuery(_MetricsOverTime):
    format: Literal["csv", "jsonl"] = Field(
        "csv", description="csv (cells starting = + - @ | % are prefixed with ') or jsonl"
    )


class FleetHistoryQuery(BaseModel):
    model_config = QUERY_CONFIG

    metric: MetricName = Field(description="one metric name")
    from_: TimeFilter | None = FROM_FIELD
    to: TimeFilter | None = TO_FIELD
    order: Literal["lowest", "highest"] = Field(
        "lowest",
        description="`lowest`: by each robot's minimum, ascending; `highest`: by its maximum, descending",
    )
    limit: int = Field(20, ge=1, le=1000, description="robots in the answer, at most 1000")


class MetricOut(BaseModel):
    name: str
    unit: str
    description: str


class PointOut(BaseModel):
    t: UtcDateTime
    min: float
    max: float
    mean: float
    last: float
    count: int


class HistoryRowOut(BaseModel):
    """One exported row: a raw sample (count 1, min = max = mean = last = its value) or one
    rollup bucket (`t` its start)."""

    metric: str
    t: UtcDateTime
    min: float
    max: float
    mean: float
    last: float
    count: int


class SeriesOut(BaseModel):
    metric: str
    unit: str
    points: list[PointOut]


class HistoryOut(BaseModel):
    robot_id: str
    from_: UtcDateTime = Field(serialization_alias="from")
    to: UtcDateTime
    step_s: int
    source: Literal["raw", "minute", "hour"]
    series: list[SeriesOut]


class FleetRowOut(BaseModel):
    robot_id: str
    min: float
    max: float
    mean: float
    last: float
    count: int


class FleetHistoryOut(BaseModel):
    metric: str
    unit: str
    from_: UtcDateTime = Field(serialization_alias="from")
    to: UtcDateTime
    source: Literal["minute", "hour"]
    order: Literal["lowest", "highest"]
    robots: list[FleetRowOut]
