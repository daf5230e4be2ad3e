"""The API's endpoints, as data. REST.md's eight first (paths, defaults and codes fixed),
then what was added beside them."""

from __future__ import annotations

from . import commands as c
from . import handlers as h
from .alarm_models import AlarmDetailOut, AlarmOut, AlarmPath, AlarmsQuery
from .auth import Role
from .command_models import (
    CommandAcceptedOut,
    CommandCreate,
    CommandOut,
    CommandPath,
    CommandsQuery,
    CommandWaitQuery,
    EmergencyStopCreate,
    EmergencyStopOut,
    EventsQuery,
)
from .endpoints import Endpoint, Reply
from .live_handlers import live_events
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
COMMANDS, LIVE, ALARMS = "commands", "live", "alarms"

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
        {
            200: Reply(
                StatsOut,
                "from the projector's counters; robot counts cover active robots; online as projected "
                "from the stream's clock",
            )
        },
        role=Role.VIEWER,
    ),
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

# --- commands and the emergency stop (docs/commands.md); operator role once auth is on ----

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
FLEET_STOPPED = Reply(
    ErrorOut,
    "the whole fleet is emergency-stopped: resume the fleet first; or the robot is named `broadcast` "
    "or `_fleet`, which only the fleet endpoints reach",
)

ENDPOINTS += [
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
        path_model=RobotPath,
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
    Endpoint(
        "GET",
        f"{API}/events",
        live_events,
        "The live feed: Server-Sent Events, `id` = stream sequence; resume with Last-Event-ID",
        LIVE,
        {
            200: Reply(
                str,
                "text/event-stream: `id: <seq>`, `event: <event type>`, "
                "`data: {seq, robot_id, kinds, at, data}`; heartbeat comments; "
                "`event: gap` when Last-Event-ID is older than the feed keeps",
                media_type="text/event-stream",
            ),
            422: INVALID,
            503: Reply(ErrorOut, "this replica serves SSE_MAX_CLIENTS clients already"),
        },
        query_model=EventsQuery,
        role=Role.VIEWER,
    ),
]
