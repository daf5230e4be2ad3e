"""The analytics rows' shaping and the export encoder, as pure functions."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from tonypi_query.analytics_models import AnalyticsQuery
from tonypi_query.analytics_shapes import outcome_rows, performance_rows, quantile
from tonypi_query.export import Encoder
from tonypi_query.models import LogOut

INF = float("inf")


def test_quantile_is_the_upper_bound_of_the_bucket_it_falls_in():
    histogram = {10.0: 50, 30.0: 45, 60.0: 5}
    assert quantile(histogram, 0.5) == 10.0
    assert quantile(histogram, 0.95) == 30.0
    assert quantile(histogram, 0.96) == 60.0
    assert quantile({10.0: 1, INF: 9}, 0.5) == 10.0  # the open bucket: the largest finite bound
    assert quantile({INF: 3}, 0.5) is None and quantile({}, 0.5) is None


def test_outcomes_fold_into_one_row_per_bucket_and_robot_with_top_reasons():
    day = date(2026, 11, 2)
    rows = [
        {"day": day, "robot_id": None, "status": "completed", "reason": "", "jobs": 7},
        *(
            {"day": day, "robot_id": None, "status": "failed", "reason": f"r{n}", "jobs": n}
            for n in range(1, 13)
        ),
    ]
    [row] = outcome_rows(rows)
    assert (row["completed"], row["failed"], row["cancelled"]) == (7, sum(range(1, 13)), 0)
    assert [r["reason"] for r in row["reasons"]] == [f"r{n}" for n in range(12, 2, -1)]


def test_performance_rows_exact_rate_and_null_when_nothing_to_divide():
    day = date(2026, 11, 2)
    sums = [{"day": day, "robot_id": "r", "jobs": 0, "items": 0, "duration_us": 0}]
    [row] = performance_rows(sums, [])
    assert row["items_per_hour"] is None and row["mean_duration_s"] is None and row["duration_p50_s"] is None


def test_analytics_query_defaults_and_bounds():
    query = AnalyticsQuery.model_validate({})
    assert query.to == datetime.now(UTC).date() and (query.to - query.from_).days == 29
    assert AnalyticsQuery.model_validate({"from": "2026-01-01", "to": "2026-12-31"}).from_ == date(2026, 1, 1)
    with pytest.raises(ValueError):
        AnalyticsQuery.model_validate({"from": "2025-01-01", "to": "2026-12-31"})
    with pytest.raises(ValueError):
        AnalyticsQuery.model_validate({"from": "0001-01-01", "to": "0001-01-01", "bucket": "year"})


def _log(message: str, **extra) -> dict:
    return {
        "id": 1,
        "level": "ERROR",
        "category": "robot_main",
        "message": message,
        "robot_id": "r1",
        "details": {"a": [1, 2]},
        "timestamp": datetime(2026, 11, 2, 8, tzinfo=UTC),
        **extra,
    }


@pytest.mark.parametrize(
    ("message", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("=cmd|' /C calc'!A0", "'=cmd\\|' /C calc'!A0"),
        ("-12.5", "-12.5"),  # a plain number stays one
        ("fine = ok", "fine = ok"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed(message, cell):
    encoder = Encoder(LogOut, "csv")
    text = (encoder.header() + encoder.row(_log(message))).decode()
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["message"] == cell
    assert json.loads(row["details"]) == {"a": [1, 2]}
    assert row["timestamp"] == "2026-11-02T08:00:00+00:00"


def test_jsonl_is_the_reads_json_one_object_per_line():
    encoder = Encoder(LogOut, "jsonl")
    assert encoder.header() == b""
    line = encoder.row(_log("=1+1", robot_id=None))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line)["message"] == "=1+1" and json.loads(line)["robot_id"] is None
