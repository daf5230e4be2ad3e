"""Telemetry history (docs/history.md)."""

from __future__ import annotations

from .. import history_handlers as h
from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..history_models import (
    FleetHistoryOut,
    FleetHistoryQuery,
    HistoryExportQuery,
    HistoryOut,
    HistoryQuery,
    MetricOut,
    RobotHistoryPath,
)
from .analytics import EXPORT_BUSY, EXPORT_FORMATS
from .replies import API, INVALID, ROBOT_NOT_FOUND

HISTORY = "history"

HISTORY_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/metrics",
        h.list_metrics,
        "The telemetry history's metric names, units and meanings",
        HISTORY,
        {200: Reply(list[MetricOut], "the vocabulary; `servo.<id>.…` and `sensor.<name>` are families")},
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/robots/{{robot_id}}/history",
        h.robot_history,
        "One robot's readings over time, bucketed: min, max, mean, last and count per bucket",
        HISTORY,
        {
            200: Reply(HistoryOut, "one series per metric asked, in that order; empty buckets are left out"),
            404: ROBOT_NOT_FOUND,
            422: INVALID,
        },
        path_model=RobotHistoryPath,
        query_model=HistoryQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/robots/{{robot_id}}/history/export",
        h.export_history,
        "One robot's readings over a range, every row, streamed as CSV or JSON lines: raw samples, "
        "or the minute (else hour) rollups when `from` is older than the raw samples kept",
        HISTORY,
        {
            200: Reply(str, EXPORT_FORMATS, media_type="text/csv", also=("application/x-ndjson",)),
            404: ROBOT_NOT_FOUND,
            422: INVALID,
            503: EXPORT_BUSY,
        },
        path_model=RobotHistoryPath,
        query_model=HistoryExportQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/history/fleet",
        h.fleet_history,
        "One metric across the active robots over a range, ordered (e.g. the 20 lowest batteries)",
        HISTORY,
        {
            200: Reply(FleetHistoryOut, "per robot with readings in the range: min, max, mean, last, count"),
            422: INVALID,
        },
        query_model=FleetHistoryQuery,
        role=Role.VIEWER,
    ),
]
