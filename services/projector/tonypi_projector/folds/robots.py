"""Folds onto the robots table: registration (automatic and through the API), status,
last_seen and the latest-telemetry snapshot."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from tonypi_events import EventType, kinds, read_tables
from tonypi_events.commanding import firmware_after
from tonypi_events.read_tables.shape import DOUBLE

from ..rows import Robot, evolve
from .context import FoldContext, RobotState, iso, without_none

# Columns an operator may set (robot_updated); anything else in `changes` is ignored.
UPDATABLE = frozenset(c.name for c in read_tables.ROBOTS.columns if c.operator)
_FLOAT_FIELDS = frozenset(c.name for c in read_tables.ROBOTS.columns if c.operator and c.type == DOUBLE)

# Status transitions an operator should see, by the status entered.
_TRANSITION_LEVEL = {"online": "INFO", "offline": "WARNING", "emergency_stopped": "ERROR"}


def _robot_part(
    payload: BaseModel, ctx: FoldContext, exclude: frozenset[str] = frozenset()
) -> dict[str, Any]:
    part = payload.model_dump(exclude={"robot_id", "timestamp", *exclude}, exclude_none=True)
    part["received_at"] = iso(ctx.at)
    return part


def _with_telemetry(robot: Robot, key: str, part: Any) -> Robot:
    return evolve(robot, telemetry={**robot.telemetry, key: part})


# --- robot messages ---------------------------------------------------------------------


def auto_register(ctx: FoldContext, state: RobotState, status: str = "online") -> RobotState:
    """The first message of any kind from an unknown robot registers it."""
    robot = Robot(
        id=ctx.seq,
        robot_id=ctx.robot_id,
        name=ctx.robot_id,
        status=status,
        created_at=ctx.at,
        updated_at=ctx.at,
        last_seen=ctx.at,
        online=status != "offline",
        firmware=firmware_after(ctx.event.event_type, ctx.event.payload, None),
        last_seen_seq=ctx.seq,
    )
    ctx.log(
        "INFO",
        "robot",
        f"Robot auto-registered: {ctx.robot_id}",
        {"source": ctx.event.source, "event_type": ctx.event.event_type.value},
    )
    return evolve(state, robot=robot)


def seen(ctx: FoldContext, robot: Robot, says_offline: bool = False) -> Robot:
    """Heard from: last_seen moves on, and the robot is online unless it said it is not.
    A robot the clock found silent (folds/clock.py) says so in one line: back online (not
    when its message is its clean shutdown: that has its own status line)."""
    last_seen = ctx.at if robot.last_seen is None else max(robot.last_seen, ctx.at)
    online = robot.status != "offline"
    was_silent = not robot.online and robot.last_seen is not None and robot.is_active
    if online and was_silent and not says_offline:
        since = robot.last_seen.isoformat() if robot.last_seen else None
        ctx.log(
            "INFO",
            "status",
            f"Robot {robot.robot_id} is back online (silent since {since})",
            {"last_seen": since},
        )
    firmware = firmware_after(ctx.event.event_type, ctx.event.payload, robot.firmware)
    return evolve(
        robot,
        last_seen=last_seen,
        updated_at=ctx.at,
        online=online,
        last_seen_seq=ctx.seq,
        firmware=firmware,
    )


def on_status(ctx: FoldContext, state: RobotState, payload: kinds.StatusV1) -> RobotState:
    robot = state.robot
    assert robot is not None
    if payload.status != robot.status:
        level = _TRANSITION_LEVEL.get(payload.status, "WARNING")
        details = without_none(
            {"from": robot.status, "to": payload.status, "emergency_reason": payload.emergency_reason}
        )
        ctx.log(
            level, "status", f"Robot {robot.robot_id} is now {payload.status} (was {robot.status})", details
        )
        robot = evolve(robot, status=payload.status, online=payload.status != "offline")
    info = payload.system_info.model_dump(exclude_none=True) if payload.system_info else {}
    info.update(_robot_part(payload, ctx, exclude=frozenset({"status", "system_info"})))
    return evolve(state, robot=_with_telemetry(robot, "system_info", info))


def on_sensor(ctx: FoldContext, state: RobotState, payload: kinds.SensorV1) -> RobotState:
    robot = state.robot
    assert robot is not None
    sensors = dict(robot.telemetry.get("sensors", {}))
    sensors[payload.sensor_type] = _robot_part(payload, ctx, exclude=frozenset({"sensor_type"}))
    return evolve(state, robot=_with_telemetry(robot, "sensors", sensors))


def _snapshot(key: str):
    def fold(ctx: FoldContext, state: RobotState, payload: BaseModel) -> RobotState:
        assert state.robot is not None
        return evolve(state, robot=_with_telemetry(state.robot, key, _robot_part(payload, ctx)))

    fold.__name__ = f"on_{key}"
    return fold


on_battery = _snapshot("battery")
on_location = _snapshot("location")
on_vision = _snapshot("vision")

_ALERT_RANK = {"normal": 0, "warning": 1, "critical": 2}


def on_servos(ctx: FoldContext, state: RobotState, payload: kinds.ServosV1) -> RobotState:
    """A summary an operator scans at a glance, plus each servo's position, temperature and alert."""
    assert state.robot is not None
    servos = {
        name: s.model_dump(
            include={"id", "position", "temperature", "voltage", "alert_level"}, exclude_none=True
        )
        for name, s in payload.servos.items()
    }
    temperatures = [s.temperature for s in payload.servos.values() if s.temperature is not None]
    alerts: dict[str, int] = {}
    for s in payload.servos.values():
        if s.alert_level:
            alerts[s.alert_level] = alerts.get(s.alert_level, 0) + 1
    worst = max(alerts, key=lambda level: _ALERT_RANK.get(level, 1), default=None)
    summary = without_none(
        {
            "servo_count": payload.servo_count if payload.servo_count is not None else len(payload.servos),
            "max_temperature": max(temperatures, default=None),
            "alerts": alerts or None,
            "worst_alert": worst,
            "servos": servos,
            "received_at": iso(ctx.at),
        }
    )
    return evolve(state, robot=_with_telemetry(state.robot, "servos", summary))


# --- operator writes through the API (REST.md) -----------------------------------------


def _by(payload: kinds.RobotRegisteredV1 | kinds.RobotUpdatedV1 | kinds.RobotDeactivatedV1) -> dict[str, Any]:
    """Who made the write, for the api log line's details (absent in pre-auth events)."""
    return {"actor": payload.actor.model_dump(exclude_none=True)} if payload.actor is not None else {}


def on_registered(ctx: FoldContext, state: RobotState, payload: kinds.RobotRegisteredV1) -> RobotState:
    """POST /robots. If the robot already exists (it reported and was auto-registered before
    the API's event landed), the operator's configuration is applied to that row: the
    operator's intent wins, the id, history and telemetry stay."""
    config = dict(
        name=payload.name or ctx.robot_id,
        description=payload.description,
        location=payload.location,
        battery_threshold_low=payload.battery_threshold_low,
        battery_threshold_critical=payload.battery_threshold_critical,
        temp_threshold_warning=payload.temp_threshold_warning,
        temp_threshold_critical=payload.temp_threshold_critical,
    )
    details: dict[str, Any] = {k: v for k, v in config.items() if v is not None}
    if state.robot is None:
        robot = Robot(id=ctx.seq, robot_id=ctx.robot_id, created_at=ctx.at, updated_at=ctx.at, **config)
    else:
        robot = evolve(state.robot, updated_at=ctx.at, is_active=True, **config)
        details["already_known"] = True
    ctx.log("INFO", "api", f"Robot created: {ctx.robot_id}", {**details, **_by(payload)})
    return evolve(state, robot=robot)


def on_updated(ctx: FoldContext, state: RobotState, payload: kinds.RobotUpdatedV1) -> RobotState:
    """PUT /robots/{id}: only the fields sent change; the log line carries them in details."""
    if state.robot is None:
        ctx.log(
            "WARNING",
            "api",
            f"Robot update ignored: {ctx.robot_id} is not registered",
            {**payload.changes, **_by(payload)},
        )
        return state
    changes = {
        k: (float(v) if k in _FLOAT_FIELDS and v is not None else v)
        for k, v in payload.changes.items()
        if k in UPDATABLE
    }
    robot = evolve(state.robot, updated_at=ctx.at, **changes)
    if robot.status == "offline":  # an operator's "offline" is taken at its word, as a robot's is
        robot = evolve(robot, online=False)
    ctx.log("INFO", "api", f"Robot updated: {ctx.robot_id}", {**changes, **_by(payload)})
    return evolve(state, robot=robot)


def on_deactivated(ctx: FoldContext, state: RobotState, payload: kinds.RobotDeactivatedV1) -> RobotState:
    """DELETE /robots/{id}: a soft delete. The robot stays inactive when it reports again."""
    if state.robot is None:
        ctx.log(
            "WARNING", "api", f"Robot delete ignored: {ctx.robot_id} is not registered", _by(payload) or None
        )
        return state
    ctx.log("INFO", "api", f"Robot deleted: {ctx.robot_id}", _by(payload) or None)
    return evolve(state, robot=evolve(state.robot, is_active=False, updated_at=ctx.at))


ROBOT_MESSAGE_FOLDS = {
    EventType.STATUS: on_status,
    EventType.SENSOR: on_sensor,
    EventType.BATTERY: on_battery,
    EventType.LOCATION: on_location,
    EventType.SERVOS: on_servos,
    EventType.VISION: on_vision,
}

API_FOLDS = {
    EventType.ROBOT_REGISTERED: on_registered,
    EventType.ROBOT_UPDATED: on_updated,
    EventType.ROBOT_DEACTIVATED: on_deactivated,
}
