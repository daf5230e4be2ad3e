"""The start_job a schedule firing dispatches is the event the command API would write: it
decodes under the current schema (a v1-shaped actor without `via` was dead-lettered by the
projector, so no scheduled job ever reached a robot). Pure: no broker."""

from __future__ import annotations

import pytest
from tonypi_events import CURRENT_VERSION, EventType, decode_payload
from tonypi_events.commanding import Plan
from tonypi_query.schedule_dispatcher import command_event

pytestmark = pytest.mark.unit

FIRING = {
    "command_id": "s1-1796657928-0",
    "schedule_id": "s1",
    "robot_id": "sim01",
    "task_name": "Night shift",
    "items_total": 5,
    "timeout_s": 10.0,
    "actor": {"name": "alice", "role": "operator", "via": "token"},
}


def test_a_firings_command_decodes_as_the_current_schema_with_its_author_and_plan():
    event = command_event(FIRING)
    assert event.schema_version == CURRENT_VERSION[EventType.COMMAND_REQUESTED]
    payload = decode_payload(event)
    assert (payload.type, payload.params) == ("start_job", {"task_name": "Night shift", "items_total": 5})
    assert (payload.actor.name, payload.actor.role, payload.actor.via) == ("alice", "operator", "token")
    assert payload.actor.model_dump()["schedule_id"] == "s1"
    assert payload.plan == {"sim01": Plan.SEND.value}
    assert event.event_id == "schedule-s1-1796657928-0"  # its Nats-Msg-Id: one however many replicas


def test_an_author_recorded_without_how_they_signed_in_is_unknown():
    payload = decode_payload(command_event({**FIRING, "actor": {"name": "bob", "role": "operator"}}))
    assert payload.actor.via == "unknown"
