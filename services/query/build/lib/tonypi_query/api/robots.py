"""Robot CRUD and telemetry (REST.md)."""

from __future__ import annotations

from .. import handlers as h
from ..auth import Role
from ..endpoints import Endpoint, Reply
from ..models import (
    ErrorOut,
    MessageOut,
    RobotCreate,
    RobotOut,
    RobotPath,
    RobotsQuery,
    RobotUpdate,
    TelemetryOut,
)
from .replies import ACCEPTED, API, INVALID, ROBOT_NOT_FOUND, ROBOTS, STREAM_DOWN

ROBOT_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/robots",
        h.list_robots,
        "List active robots, one page at a time",
        ROBOTS,
        {
            200: Reply(
                list[RobotOut],
                "one page of active robots (is_active true), by robot id",
                headers={
                    "Link": 'the next page: `<...?after=...>; rel="next"`, present when this page is full'
                },
            ),
            422: INVALID,
        },
        query_model=RobotsQuery,
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
]
