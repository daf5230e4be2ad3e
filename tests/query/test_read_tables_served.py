"""The API's response models serve what the read-table declaration says each table serves:
the same names (served names: `seq` as `sequence`) and the same nullability, so a column
added, dropped or made nullable in the declaration fails here until its model follows."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from tonypi_events import read_tables
from tonypi_events.read_tables import Table
from tonypi_query.alarm_models import AlarmOut, AlarmTransitionOut
from tonypi_query.command_models import CommandOut, EmergencyStopOut
from tonypi_query.models import JobOut, LogOut, RobotOut
from tonypi_query.schedule_models import FiringOut, ScheduleOut

# model: (its table, served columns it leaves to another endpoint, fields not from the table)
SERVED: dict[type[BaseModel], tuple[Table, frozenset[str], frozenset[str]]] = {
    RobotOut: (read_tables.ROBOTS, frozenset({"telemetry"}), frozenset({"active_alarms", "command_types"})),
    JobOut: (read_tables.JOBS, frozenset(), frozenset()),
    LogOut: (read_tables.SYSTEM_LOGS, frozenset(), frozenset()),
    AlarmOut: (read_tables.ALARMS, frozenset(), frozenset()),
    AlarmTransitionOut: (read_tables.ALARM_TRANSITIONS, frozenset(), frozenset()),
    CommandOut: (read_tables.COMMANDS, frozenset(), frozenset()),
    EmergencyStopOut: (read_tables.EMERGENCY_STOPS, frozenset(), frozenset()),
    ScheduleOut: (read_tables.SCHEDULES, frozenset(), frozenset()),
    FiringOut: (read_tables.SCHEDULE_FIRINGS, frozenset(), frozenset({"command_state"})),
}


def _takes_none(annotation: Any) -> bool:
    try:
        TypeAdapter(annotation).validate_python(None)
    except ValidationError:
        return False
    return True


def test_every_served_table_has_its_response_model():
    assert {t.name for t in read_tables.TABLES if t.served} == {t.name for t, _, _ in SERVED.values()}


@pytest.mark.parametrize("model", SERVED, ids=lambda m: m.__name__)
def test_a_response_model_has_its_tables_served_columns_with_their_nullability(model):
    table, elsewhere, extra = SERVED[model]
    columns = {c.served_name: c for c in table.served_columns if c.name not in elsewhere}
    fields = {name: f for name, f in model.model_fields.items() if name not in extra}
    assert sorted(fields) == sorted(columns)
    nullability = {name: _takes_none(f.annotation) for name, f in fields.items()}
    assert nullability == {name: c.nullable for name, c in columns.items()}


def test_the_nullability_check_can_fail():
    assert _takes_none(int | None) and _takes_none(Any)
    assert not _takes_none(int) and not _takes_none(dict[str, Any])
