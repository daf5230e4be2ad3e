"""Counters an alert watches for a first drop exist at 0 from start-up: a series born at 1
shows no increase() to Prometheus, so the first lost emergency stop would never page."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest
from tonypi_ingest import metrics
from tonypi_ingest.settlement import Outcome

SOURCE = Path(metrics.__file__).parent


def _exposed() -> str:
    return generate_latest().decode()


def test_every_command_outcome_is_exposed_before_it_happens():
    text = _exposed()
    for outcome in metrics.COMMAND_OUTCOMES:
        assert f'tonypi_ingest_commands_total{{outcome="{outcome}"}}' in text, outcome


def test_every_message_outcome_is_exposed_before_it_happens():
    text = _exposed()
    for outcome in Outcome:
        assert f'tonypi_ingest_outcomes_total{{outcome="{outcome.value}"}}' in text, outcome


def test_the_code_counts_only_declared_command_outcomes():
    used = {
        m
        for path in SOURCE.glob("*.py")
        for m in re.findall(r'COMMANDS\.labels\("([a-z_]+)"\)', path.read_text())
    }
    assert used and used <= set(metrics.COMMAND_OUTCOMES), used - set(metrics.COMMAND_OUTCOMES)
