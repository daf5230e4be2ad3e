"""Alarms: list, detail, acknowledge (docs/alarms.md)."""

from __future__ import annotations

from .. import handlers as h
from ..alarm_models import AlarmDetailOut, AlarmOut, AlarmPath, AlarmsQuery
from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..models import AcceptedOut
from .replies import ALARM_NOT_FOUND, ALARMS, API, INVALID, NEXT_PAGE, STREAM_DOWN

ALARM_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/alarms",
        h.list_alarms,
        "Alarms, newest raised first",
        ALARMS,
        {200: Reply(list[AlarmOut], "one page of alarms", headers=NEXT_PAGE), 422: INVALID},
        query_model=AlarmsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/alarms/{{id}}",
        h.get_alarm,
        "One alarm with its transitions",
        ALARMS,
        {200: Reply(AlarmDetailOut, "the alarm and its history"), 404: ALARM_NOT_FOUND, 422: INVALID},
        path_model=AlarmPath,
        role=Role.VIEWER,
    ),
    Endpoint(
        "POST",
        f"{API}/alarms/{{id}}/ack",
        h.acknowledge_alarm,
        "Acknowledge an alarm (role: operator)",
        ALARMS,
        {
            200: Reply(AlarmDetailOut, "the alarm, acknowledged (twice, or cleared: unchanged)"),
            202: Reply(
                AcceptedOut,
                "recorded as an event, not yet applied within WRITE_WAIT_TIMEOUT; poll the Location",
                headers={"Location": "the alarm"},
            ),
            404: ALARM_NOT_FOUND,
            422: INVALID,
            503: STREAM_DOWN,
        },
        path_model=AlarmPath,
        role=Role.OPERATOR,
    ),
]
