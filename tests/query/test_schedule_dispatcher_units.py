"""The schedule dispatcher, pure (fakes for its ports, no broker): the start_job a firing
dispatches is the event the command API would write, decoding under the current schema (a
v1-shaped actor without `via` was dead-lettered by the projector, so no scheduled job ever
reached a robot); and it waits quietly for the projector's tables."""

from __future__ import annotations

import asyncio

import asyncpg
from tonypi_events import CURRENT_VERSION, EventType, decode_payload
from tonypi_events.commanding import Plan
from tonypi_query.schedule_dispatcher import ScheduleDispatcher, command_event

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


async def test_the_dispatcher_waits_quietly_for_the_projectors_tables(caplog):
    """`tonypi up` starts query beside the projector: until it has migrated there is no
    schedule_firings table, which is no fault to warn a newcomer about."""
    stop = asyncio.Event()
    asked = []

    class Reads:
        async def due_firings(self, window_s):
            asked.append(window_s)
            raise asyncpg.UndefinedTableError('relation "schedule_firings" does not exist')

    class Writes:
        connected = True

    class Checkpoint:
        latest = 0

        async def wait_for(self, sequence, timeout):
            stop.set()  # one round is enough
            return False

    caplog.set_level("DEBUG", "tonypi_query.schedule_dispatcher")
    await ScheduleDispatcher(Reads(), Writes(), Checkpoint()).run(stop)
    assert asked and not [r for r in caplog.records if r.levelname == "WARNING"]
