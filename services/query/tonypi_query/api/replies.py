"""What the endpoint tables share: the API prefix, the OpenAPI tags and the common replies."""

from __future__ import annotations

from .. import handlers as h
from ..endpoints import Reply
from ..models import AcceptedOut, ErrorOut, ValidationErrorOut

API = h.API
ROBOTS, LOGS, JOBS, STATS = "robots", "logs", "jobs", "stats"
COMMANDS, LIVE, ALARMS, SCHEDULES = "commands", "live", "alarms", "schedules"
SESSION = "session"

INVALID = Reply(ValidationErrorOut, "the request failed validation; `detail` says where and why")
ROBOT_NOT_FOUND = Reply(ErrorOut, 'no such robot: `{"detail": "Robot not found"}`')
ACCEPTED = Reply(
    AcceptedOut,
    "recorded as an event, not yet applied by the projector within WRITE_WAIT_TIMEOUT; poll the Location",
    headers={"Location": "where the robot will be readable"},
)
STREAM_DOWN = Reply(ErrorOut, "the event stream or database is unavailable; retry")
ALARM_NOT_FOUND = Reply(ErrorOut, '`{"detail": "Alarm not found"}`')
NEXT_PAGE = {"Link": 'the next page: `<...?before=...>; rel="next"`, present when this page is full'}
