"""Commands and the emergency stop (docs/commands.md)."""

from __future__ import annotations

from .. import commands as c
from ..auth import Role
from ..command_models import (
    CommandAcceptedOut,
    CommandCreate,
    CommandOut,
    CommandPath,
    CommandsQuery,
    CommandWaitQuery,
    EmergencyStopCreate,
    EmergencyStopOut,
    RobotCommandsPath,
)
from ..endpoints import Endpoint, Reply
from ..models import ErrorOut, RobotPath
from .replies import API, COMMANDS, INVALID, NEXT_PAGE, ROBOT_NOT_FOUND, STREAM_DOWN

COMMAND_CREATED = Reply(
    CommandOut,
    "recorded and applied: its state is requested (or expired: the robot is offline and wait was not set)",
    headers={"Location": "where the command's state is readable"},
)
COMMAND_ACCEPTED = Reply(
    CommandAcceptedOut,
    "recorded as an event, not yet applied within WRITE_WAIT_TIMEOUT; poll the Location",
    headers={"Location": "where the command's state will be readable"},
)
COMMAND_WRITE = {201: COMMAND_CREATED, 202: COMMAND_ACCEPTED, 422: INVALID, 503: STREAM_DOWN}
FLEET_STOPPED = Reply(ErrorOut, "the whole fleet is emergency-stopped: resume the fleet first")

COMMAND_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        f"{API}/robots/{{robot_id}}/commands",
        c.send_command,
        "Send a command to a robot",
        COMMANDS,
        {**COMMAND_WRITE, 404: ROBOT_NOT_FOUND, 409: FLEET_STOPPED},
        path_model=RobotPath,
        body_model=CommandCreate,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "POST",
        f"{API}/commands",
        c.broadcast_command,
        "Send a command to every robot (tonypi/commands/broadcast)",
        COMMANDS,
        COMMAND_WRITE,
        body_model=CommandCreate,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "GET",
        f"{API}/commands/{{command_id}}",
        c.get_command,
        "A command and its outcome; ?wait=N holds the answer until it has one",
        COMMANDS,
        {
            200: Reply(CommandOut, "the command"),
            404: Reply(ErrorOut, '`{"detail": "Command not found"}`'),
            422: INVALID,
        },
        path_model=CommandPath,
        query_model=CommandWaitQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "GET",
        f"{API}/robots/{{robot_id}}/commands",
        c.robot_commands,
        "A robot's commands, newest first (`_fleet`: the broadcasts)",
        COMMANDS,
        {
            200: Reply(list[CommandOut], "one page of commands", headers=NEXT_PAGE),
            404: ROBOT_NOT_FOUND,
            422: INVALID,
        },
        path_model=RobotCommandsPath,
        query_model=CommandsQuery,
        role=Role.VIEWER,
    ),
    Endpoint(
        "POST",
        f"{API}/robots/{{robot_id}}/emergency-stop",
        c.emergency_stop,
        "Emergency-stop a robot: latched until resumed",
        COMMANDS,
        {**COMMAND_WRITE, 404: ROBOT_NOT_FOUND, 409: FLEET_STOPPED},
        path_model=RobotPath,
        body_model=EmergencyStopCreate,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "POST",
        f"{API}/robots/{{robot_id}}/resume",
        c.resume,
        "Release a robot's emergency stop",
        COMMANDS,
        {**COMMAND_WRITE, 404: ROBOT_NOT_FOUND, 409: FLEET_STOPPED},
        path_model=RobotPath,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "POST",
        f"{API}/emergency-stop",
        c.fleet_emergency_stop,
        "Emergency-stop the whole fleet (tonypi/emergency_stop/broadcast): latched until resumed",
        COMMANDS,
        COMMAND_WRITE,
        body_model=EmergencyStopCreate,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "POST",
        f"{API}/resume",
        c.fleet_resume,
        "Release the whole fleet's emergency stop",
        COMMANDS,
        COMMAND_WRITE,
        role=Role.OPERATOR,
    ),
    Endpoint(
        "GET",
        f"{API}/emergency-stops",
        c.emergency_stops,
        "Emergency-stop latches: each robot's and the fleet's (`_fleet`) last press or release",
        COMMANDS,
        {200: Reply(list[EmergencyStopOut], "every latch, engaged or released")},
        role=Role.VIEWER,
    ),
]
