"""Every labelled series an alert rule watches for a first occurrence (`increase(...) > 0`)
exists at 0 as soon as its service's metrics are imported. Prometheus sees no increase in a
series born at 1, so without it the first lost command, dead-lettered answer or missed
firing would never alert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tonypi_ingest.metrics
import tonypi_ingest.settlement  # noqa: F401  (its outcomes' series)
import tonypi_projector.metrics  # noqa: F401
import tonypi_query.metrics  # noqa: F401
from prometheus_client import generate_latest

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
# increase(metric{label="a"}) or increase(metric{label=~"a|b"}) or sum by (label) (increase(metric
_FIRST = re.compile(r"increase\((tonypi_[a-z_]+)(?:\{(\w+)(=~?)\"([^\"]+)\"\})?\[")
_BY = re.compile(r"sum by \((\w+)\) \(increase\((tonypi_[a-z_]+)\[")


def _exposed() -> str:
    return generate_latest().decode()


def _watched() -> list[tuple[str, str | None, list[str]]]:
    """(metric, label, values) of each first-occurrence rule: values empty = any value."""
    found = []
    for line in ALERTS.read_text().splitlines():
        if "expr:" not in line or "> 0" not in line:
            continue
        if by := _BY.search(line):
            found.append((by.group(2), by.group(1), []))
        elif first := _FIRST.search(line):
            metric, label, op, values = first.groups()
            found.append((metric, label, values.split("|") if op else []))
    return found


@pytest.mark.parametrize(("metric", "label", "values"), _watched(), ids=lambda v: str(v))
def test_the_series_an_alert_watches_exists_before_the_first_occurrence(metric, label, values):
    samples = [
        line
        for line in _exposed().splitlines()
        if line.startswith(metric + "{") or line.startswith(metric + " ")
    ]
    assert samples, f"{metric}: no series until the first occurrence"
    for value in values:
        assert any(f'{label}="{value}"' in s for s in samples), f'{metric}{{{label}="{value}"}}'


def test_the_rules_were_read():
    assert len(_watched()) >= 10
