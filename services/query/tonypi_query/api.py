"""The API's endpoints, as data. REST.md's eight first (paths, defaults and codes fixed),
then what was added beside them."""

from __future__ import annotations

from . import handlers as h
from .auth import Role
from .endpoints import Endpoint, Reply
from .models import (
    AcceptedOut,
    ErrorOut,
    JobOut,
    JobPath,
    JobsQuery,
    LogOut,
    LogsQuery,
    MessageOut,
    RobotCreate,
    RobotOut,
    RobotPath,
    RobotUpdate,
    StatsOut,
    TelemetryOut,
    ValidationErrorOut,
)

API = h.API
ROBOTS, LOGS, JOBS, STATS = "robots", "logs", "jobs", "stats"

INVALID = Reply(ValidationErrorOut, "the request failed validation; `detail` says where and why")
ROBOT_NOT_FOUND = Reply(ErrorOut, 'no such robot: `{"detail": "Robot not found"}`')
ACCEPTED = Reply(
    AcceptedOut,
    "recorded as an event, not yet applied by the projector within WRITE_WAIT_TIMEOUT; poll the Location",
    headers={"Location": "where the robot will be readable"},
)
STREAM_DOWN = Reply(ErrorOut, "the event stream or database is unavailable; retry")
NEXT_PAGE = {"Link": 'the next page: `<...?before=...>; rel="next"`, present when this page is full'}

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/robots",
        h.list_robots,
        "List active robots",
        ROBOTS,
        {200: Reply(list[RobotOut], "active robots (is_active true)")},
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/robots/{{robot_id}}",
        h.get_robot,
        "Get one robot, also when deleted",
        ROBOTS,
        {200: Reply(RobotOut, "the robot"), 404: ROBOT_NOT_FOUND, 422: INVALID},
        path_model=RobotPath,
        role=Role.VIEWER,
    ),
    Endpoint(
        "POST",
        f"{API}/robots",
        h.create_robot,
        "Register a robot",
        ROBOTS,
        {
            200: Reply(RobotOut, "the created robot"),
            202: ACCEPTED,
            400: Reply(ErrorOut, 'the id exists: `{"detail": "Robot already exists"}`'),
            422: INVALID,
            503: STREAM_DOWN,
        },
        body_model=RobotCreate,
        role=Role.ADMIN,
    ),
    Endpoint(
        "PUT",
        f"{API}/robots/{{robot_id}}",
        h.update_robot,
        "Change a robot's configuration",
        ROBOTS,
        {
            200: Reply(RobotOut, "the updated robot"),
            202: ACCEPTED,
            404: ROBOT_NOT_FOUND,
            422: INVALID,
            503: STREAM_DOWN,
        },
        path_model=RobotPath,
        body_model=RobotUpdate,
        role=Role.ADMIN,
    ),
    Endpoint(
        "DELETE",
        f"{API}/robots/{{robot_id}}",
        h.delete_robot,
        "Deactivate a robot (soft delete)",
        ROBOTS,
        {
            200: Reply(MessageOut, '`{"message": "Robot deleted successfully"}`'),
            202: ACCEPTED,
            404: ROBOT_NOT_FOUND,
            422: INVALID,
            503: STREAM_DOWN,
        },
        path_model=RobotPath,
        role=Role.ADMIN,
    ),
    Endpoint(
        "GET",
        f"{API}/robots/{{robot_id}}/telemetry",
        h.robot_telemetry,
        "The robot's latest telemetry snapshot",
        ROBOTS,
        {
            200: Reply(TelemetryOut, "each part with the server time it was last received"),
            404: ROBOT_NOT_FOUND,
            422: INVALID,
        },
        path_model=RobotPath,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/logs",
        h.list_logs,
        "System logs, newest first",
        LOGS,
        {200: Reply(list[LogOut], "one page of log entries", headers=NEXT_PAGE), 422: INVALID},
        query_model=LogsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/jobs/history",
        h.job_history,
        "Jobs, newest first",
        JOBS,
        {200: Reply(list[JobOut], "one page of jobs", headers=NEXT_PAGE), 422: INVALID},
        query_model=JobsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/jobs/{{id}}",
        h.get_job,
        "One job",
        JOBS,
        {200: Reply(JobOut, "the job"), 404: Reply(ErrorOut, '`{"detail": "Job not found"}`'), 422: INVALID},
        path_model=JobPath,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/stats",
        h.stats,
        "Fleet and job counts",
        STATS,
        {200: Reply(StatsOut, "robot counts cover active robots; online = seen within ONLINE_TIMEOUT")},
        role=Role.VIEWER,
    ),
]
