"""Choosing a history read's range, step and table (tonypi_query.history_plan): pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tonypi_query.history_plan import AUTO_POINTS, PlanError, Retention, fleet_source, plan
from tonypi_query.history_reads import bucket_floor

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEEP = Retention(raw_days=14, minute_days=90)


@pytest.mark.parametrize(
    ("span", "step_s", "source"),
    [
        (timedelta(minutes=10), 1, "raw"),
        (timedelta(hours=1), 5, "raw"),
        (timedelta(hours=24), 120, "minute"),
        (timedelta(days=7), 900, "minute"),
        (timedelta(days=30), 3600, "hour"),
        (timedelta(days=365), 43200, "hour"),
        (timedelta(days=730), 86400, "hour"),
    ],
)
def test_auto_step_gives_at_most_a_thousand_points_from_the_coarsest_table(span, step_s, source):
    chosen = plan(NOW - span, NOW, "auto", NOW, KEEP)
    assert (chosen.step_s, chosen.source) == (step_s, source)
    assert span.total_seconds() / chosen.step_s <= AUTO_POINTS


def test_default_range_is_the_last_day_and_a_day_at_one_minute_steps_is_allowed():
    chosen = plan(None, None, "60", NOW, KEEP)
    assert (chosen.start, chosen.end, chosen.step_s, chosen.source) == (
        NOW - timedelta(days=1),
        NOW,
        60,
        "minute",
    )


def _chosen(days_ago: float, step: str, retention: Retention = KEEP) -> tuple[int, str]:
    start = NOW - timedelta(days=days_ago)
    chosen = plan(start, start + timedelta(hours=1), step, NOW, retention)
    return chosen.step_s, chosen.source


def test_retention_moves_a_read_to_a_coarser_table_and_rounds_the_step_up():
    assert _chosen(10, "30") == (30, "raw")
    assert _chosen(20, "30") == (60, "minute")  # raw samples are kept 14 days
    assert _chosen(100, "120") == (3600, "hour")  # minutes 90
    assert _chosen(100, "30", Retention(raw_days=0, minute_days=0)) == (30, "raw")  # 0: kept forever


@pytest.mark.parametrize(
    ("start", "end", "step", "field"),
    [
        (NOW, NOW - timedelta(hours=1), "auto", "from"),
        (NOW, NOW, "auto", "from"),
        (NOW - timedelta(days=800), NOW, "auto", "from"),
        (NOW - timedelta(days=1), NOW, "30", "step"),  # 2880 points
        (None, None, "0", "step"),
        (None, None, "1.5", "step"),
        (None, None, "soon", "step"),
        (None, datetime(1, 1, 1, 12, tzinfo=UTC), "auto", "to"),
    ],
)
def test_bad_ranges_and_steps_say_which_parameter(start, end, step, field):
    with pytest.raises(PlanError) as caught:
        plan(start, end, step, NOW, KEEP)
    assert caught.value.field == field and str(caught.value)


def test_fleet_reads_minutes_for_short_recent_ranges_hours_otherwise():
    assert fleet_source(NOW - timedelta(hours=6), NOW, NOW, KEEP) == "minute"
    assert fleet_source(NOW - timedelta(hours=7), NOW, NOW, KEEP) == "hour"
    assert fleet_source(NOW - timedelta(days=100), NOW - timedelta(days=100, hours=-1), NOW, KEEP) == "hour"


def test_a_rollup_read_starts_at_the_bucket_holding_from():
    at = datetime(2026, 12, 7, 10, 17, 42, tzinfo=UTC)
    assert bucket_floor("minute", at) == datetime(2026, 12, 7, 10, 17, tzinfo=UTC)
    assert bucket_floor("hour", at) == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
