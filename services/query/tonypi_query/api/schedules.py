"""Scheduled job dispatches (docs/schedules.md): operators write, viewers read."""

from __future__ import annotations

from .. import schedules as s
from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..models import ErrorOut
from ..schedule_models import (
    FiringOut,
    FiringsQuery,
    ScheduleAcceptedOut,
    ScheduleCreate,
    ScheduleOut,
    SchedulePath,
    SchedulesQuery,
)
from .replies import API, INVALID, NEXT_PAGE, SCHEDULES, STREAM_DOWN

NOT_FOUND = Reply(ErrorOut, '`{"detail": "Schedule not found"}`')
ACCEPTED = Reply(
    ScheduleAcceptedOut,
    "recorded as an event, not yet applied within WRITE_WAIT_TIMEOUT; poll the Location",
    headers={"Location": "where the schedule will be readable"},
)
WRONG_STATE = Reply(ErrorOut, "the schedule is not in a state this change applies to (e.g. cancelled)")


def _change(verb: str, handler, summary: str) -> Endpoint:
    return Endpoint(
        "POST",
        f"{API}/schedules/{{schedule_id}}/{verb}",
        handler,
        summary,
        SCHEDULES,
        {
            200: Reply(ScheduleOut, "applied: the schedule as it is now"),
            202: ACCEPTED,
            404: NOT_FOUND,
            409: WRONG_STATE,
            422: INVALID,
            503: STREAM_DOWN,
        },
        path_model=SchedulePath,
        role=Role.OPERATOR,
    )


SCHEDULE_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        f"{API}/schedules",
        s.create_schedule,
        "Schedule a job dispatch (start_job) for robots, once or on a cron recurrence (UTC)",
        SCHEDULES,
        {
            201: Reply(
                ScheduleOut, "recorded and applied", headers={"Location": "where the schedule is readable"}
            ),
            202: ACCEPTED,
            404: Reply(ErrorOut, "a robot of robot_ids is unknown"),
            422: INVALID,
            503: STREAM_DOWN,
        },
        body_model=ScheduleCreate,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "GET",
        f"{API}/schedules",
        s.list_schedules,
        "Schedules, newest first",
        SCHEDULES,
        {200: Reply(list[ScheduleOut], "one page", headers=NEXT_PAGE), 422: INVALID},
        query_model=SchedulesQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/schedules/{{schedule_id}}",
        s.get_schedule,
        "A schedule",
        SCHEDULES,
        {200: Reply(ScheduleOut, "the schedule"), 404: NOT_FOUND, 422: INVALID},
        path_model=SchedulePath,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/schedules/{{schedule_id}}/firings",
        s.schedule_firings,
        "A schedule's firings (one per occurrence and robot), newest first, paged by a Link header",
        SCHEDULES,
        {
            200: Reply(
                list[FiringOut],
                "one page: due, dispatched (with the command's state) or missed (why)",
                headers=NEXT_PAGE,
            ),
            404: NOT_FOUND,
            422: INVALID,
        },
        path_model=SchedulePath,
        query_model=FiringsQuery,
        role=Role.VIEWER,
    ),
    _change("pause", s.pause_schedule, "Pause a schedule: it fires nothing until resumed"),
    _change("resume", s.resume_schedule, "Resume a paused schedule from its next occurrence"),
    _change("cancel", s.cancel_schedule, "Cancel a schedule for good"),
]
