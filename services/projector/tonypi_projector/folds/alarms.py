"""Alarm rules: which events move which alarm, read from the robot's own thresholds.

Each rule is a pure fold `(ctx, state, payload) -> state` run after the event's own fold
(so it sees the thresholds and telemetry that event left), registered by event type in
`ALARM_RULES`. The rules and their hysteresis are documented in docs/alarms.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tonypi_events import EventType, kinds
from tonypi_events.alarms import BATTERY, EMERGENCY_STOP, JOB_FAILED, OFFLINE, SERVO, TEMPERATURE

from ..rows import Robot
from .alarm_lifecycle import CRITICAL, WARNING, acknowledge, level, settle
from .context import FoldContext, RobotState, without_none

# Hysteresis margins: an alarm raised at a threshold clears (or de-escalates) only once the
# reading is this far back on the good side of it.
BATTERY_MARGIN = 5.0  # percentage points
TEMPERATURE_MARGIN = 5.0  # degrees Celsius

Rule = Callable[[FoldContext, RobotState, Any], RobotState]


def _robot(state: RobotState) -> Robot:
    assert state.robot is not None
    return state.robot


# --- thresholds: battery and temperature ------------------------------------------------


@dataclass(frozen=True)
class ThresholdRule:
    """An alarm on one reading against the robot's two thresholds, with hysteresis."""

    kind: str
    label: str  # "Battery low on r1: 12 %"
    unit: str
    warning: Callable[[Robot], float]
    critical: Callable[[Robot], float]
    margin: float
    low_is_bad: bool
    words: dict[str | None, str]  # by severity; None: back on the good side


BATTERY_RULE = ThresholdRule(
    BATTERY,
    "Battery",
    " %",
    lambda r: r.battery_threshold_low,
    lambda r: r.battery_threshold_critical,
    BATTERY_MARGIN,
    low_is_bad=True,
    words={CRITICAL: "critical", WARNING: "low", None: "recovered"},
)
TEMPERATURE_RULE = ThresholdRule(
    TEMPERATURE,
    "Temperature",
    " C",
    lambda r: r.temp_threshold_warning,
    lambda r: r.temp_threshold_critical,
    TEMPERATURE_MARGIN,
    low_is_bad=False,
    words={CRITICAL: "critical", WARNING: "high", None: "back to normal"},
)


def _threshold(ctx: FoldContext, state: RobotState, rule: ThresholdRule, reading: float | None) -> RobotState:
    if reading is None:
        return state
    robot = _robot(state)
    current = state.alarms.get(rule.kind)
    warning, critical = rule.warning(robot), rule.critical(robot)
    severity = level(
        reading,
        current.severity if current else None,
        warning,
        critical,
        rule.margin,
        low_is_bad=rule.low_is_bad,
    )
    return settle(
        ctx,
        state,
        rule.kind,
        severity,
        f"{rule.label} {rule.words[severity]} on {robot.robot_id}: {reading:g}{rule.unit}",
        value=reading,
        threshold=critical if severity == CRITICAL else warning,
    )


def _battery(
    ctx: FoldContext, state: RobotState, percentage: float | None, charging: bool | None
) -> RobotState:
    if percentage is not None and charging:  # plugged in: not running down, whatever it reads
        robot_id = _robot(state).robot_id
        return settle(ctx, state, BATTERY, None, f"Battery charging on {robot_id}", value=percentage)
    return _threshold(ctx, state, BATTERY_RULE, percentage)


def on_battery(ctx: FoldContext, state: RobotState, payload: kinds.BatteryV1) -> RobotState:
    return _battery(ctx, state, payload.percentage, payload.charging)


def _status_temperature(payload: kinds.StatusV1) -> float | None:
    info = payload.system_info
    if info is None:
        return None
    return info.cpu_temperature if info.cpu_temperature is not None else info.temperature


def on_sensor(ctx: FoldContext, state: RobotState, payload: kinds.SensorV1) -> RobotState:
    if payload.sensor_type != "cpu_temperature":
        return state
    return _threshold(ctx, state, TEMPERATURE_RULE, payload.value)


# --- emergency stop, status --------------------------------------------------------------


def _emergency_stop(
    ctx: FoldContext,
    state: RobotState,
    *,
    latched: bool | None = None,
    reported: bool | None = None,
    reason: str | None = None,
) -> RobotState:
    """Open while an operator's stop is latched for the robot or the robot says it is
    stopped: a robot that restarted and forgot its stop stays alarmed until an operator
    resumes it. Both facts live in the open alarm's details (None: unchanged)."""
    robot = _robot(state)
    current = state.alarms.get(EMERGENCY_STOP)
    before = (current.details or {}) if current else {}
    latched = bool(before.get("latched", False)) if latched is None else latched
    # An alarm opened before latches were tracked was opened by the robot's report.
    reported = bool(before.get("reported", current is not None)) if reported is None else reported
    if not (latched or reported):
        return settle(ctx, state, EMERGENCY_STOP, None, f"Emergency stop released on {robot.robot_id}")
    reason = reason or before.get("reason")
    message = f"Emergency stop in force on {robot.robot_id}" + (f": {reason}" if reason else "")
    if latched:
        message += " (latched until an operator resumes it)"
    details = without_none({"latched": latched, "reported": reported, "reason": reason})
    return settle(ctx, state, EMERGENCY_STOP, CRITICAL, message, details=details)


def on_status(ctx: FoldContext, state: RobotState, payload: kinds.StatusV1) -> RobotState:
    state = _threshold(ctx, state, TEMPERATURE_RULE, _status_temperature(payload))
    stopped = payload.status == "emergency_stopped" or payload.emergency_stopped is True
    return _emergency_stop(ctx, state, reported=stopped, reason=payload.emergency_reason if stopped else None)


def on_emergency_stop(ctx: FoldContext, state: RobotState, payload: kinds.EmergencyStopV1) -> RobotState:
    """An operator pressed stop for this robot, or resumed it (the fleet's latch raises no
    per-robot alarm: docs/alarms.md)."""
    if state.robot is None:  # the fleet, or a robot never heard from
        return state
    return _emergency_stop(
        ctx, state, latched=payload.engaged, reason=payload.reason if payload.engaged else None
    )


def on_emergency_stop_response(
    ctx: FoldContext, state: RobotState, payload: kinds.CommandResponseV1
) -> RobotState:
    """The robot confirmed an emergency stop; only a later status message releases it."""
    if payload.success is not True:
        return state
    return _emergency_stop(ctx, state, reported=True)


# --- servos (gen 2) ----------------------------------------------------------------------


def on_servos(ctx: FoldContext, state: RobotState, payload: kinds.ServosV1) -> RobotState:
    """The firmware's own per-servo `alert_level`; the worst servo decides."""
    bad = {name: s.alert_level for name, s in payload.servos.items() if s.alert_level in (WARNING, CRITICAL)}
    severity = CRITICAL if CRITICAL in bad.values() else WARNING if bad else None
    robot = _robot(state)
    names = ", ".join(sorted(bad)[:8])
    return settle(
        ctx,
        state,
        SERVO,
        severity,
        f"Servo {severity} on {robot.robot_id}: {names}"
        if severity
        else f"Servos normal on {robot.robot_id}",
        details={"servos": dict(sorted(bad.items())[:32])} if bad else None,
    )


# --- jobs (gen 2) ------------------------------------------------------------------------


def on_job(ctx: FoldContext, state: RobotState, payload: Any) -> RobotState:
    """A job that failed raises; the robot's next job running or completing clears it."""
    if not ctx.jobs:
        return state
    job = max(ctx.jobs, key=lambda j: j.id)
    robot = _robot(state)
    if job.status == "failed":
        reason = f": {job.reason}" if job.reason else ""
        return settle(
            ctx,
            state,
            JOB_FAILED,
            WARNING,
            f"Job {job.id} failed on {robot.robot_id}{reason}",
            details={"job_id": job.id, "reason": job.reason},
        )
    if job.status in ("active", "completed"):
        return settle(ctx, state, JOB_FAILED, None, f"Job {job.id} {job.status} on {robot.robot_id}")
    return state


# --- offline: cleared by any message; raised by the clock (folds/clock.py) ----------------


def heard_from(ctx: FoldContext, state: RobotState, payload: Any) -> RobotState:
    if OFFLINE not in state.alarms:
        return state
    return settle(ctx, state, OFFLINE, None, f"Robot {ctx.robot_id} heard from again")


def went_silent(ctx: FoldContext, state: RobotState, last_seen: datetime | None) -> RobotState:
    seen = last_seen.isoformat() if last_seen else "never"
    return settle(
        ctx,
        state,
        OFFLINE,
        CRITICAL,
        f"Robot {ctx.robot_id} silent since {seen}",
        details={"last_seen": seen},
    )


# --- operator writes ---------------------------------------------------------------------


def thresholds_changed(ctx: FoldContext, state: RobotState, payload: Any) -> RobotState:
    """A threshold change applies from the event that made it: the latest readings are
    judged again against the new thresholds."""
    if state.robot is None:
        return state
    telemetry = state.robot.telemetry
    battery = telemetry.get("battery") or {}
    state = _battery(ctx, state, battery.get("percentage"), battery.get("charging"))
    return _threshold(ctx, state, TEMPERATURE_RULE, latest_cpu_temperature(telemetry))


def latest_cpu_temperature(telemetry: dict[str, Any]) -> float | None:
    """The newest CPU temperature the snapshot holds: from the status message or the sensor."""
    info = telemetry.get("system_info") or {}
    sensor = (telemetry.get("sensors") or {}).get("cpu_temperature") or {}
    readings = [
        (info.get("received_at") or "", info.get("cpu_temperature", info.get("temperature"))),
        (sensor.get("received_at") or "", sensor.get("value")),
    ]
    readings = [r for r in readings if isinstance(r[1], int | float)]
    return float(max(readings)[1]) if readings else None


def deactivated(ctx: FoldContext, state: RobotState, payload: Any) -> RobotState:
    """A deleted robot alarms about nothing: its open alarms clear."""
    for kind in sorted(state.alarms):
        state = settle(ctx, state, kind, None, f"Robot {ctx.robot_id} deleted")
    return state


def acknowledged(ctx: FoldContext, state: RobotState, payload: kinds.AlarmAcknowledgedV1) -> RobotState:
    return acknowledge(ctx, state, payload.alarm_id, payload.actor.model_dump(exclude_none=False))


# Operator writes about alarms: folds of their own (they register no robot).
ALARM_API_FOLDS = {EventType.ALARM_ACKNOWLEDGED: acknowledged}


def _chain(*rules: Rule) -> Rule:
    def run(ctx: FoldContext, state: RobotState, payload: Any) -> RobotState:
        for rule in rules:
            state = rule(ctx, state, payload)
        return state

    return run


def alarm_rules(robot_message_types: set[EventType]) -> dict[EventType, Rule]:
    """Rules by event type: every robot message clears `offline`, then its own rule runs."""
    own: dict[EventType, Rule] = {
        EventType.BATTERY: on_battery,
        EventType.SENSOR: on_sensor,
        EventType.STATUS: on_status,
        EventType.SERVOS: on_servos,
        EventType.JOB: on_job,
        EventType.SCAN: on_job,  # a scan may start a job: the robot works again
        EventType.EMERGENCY_STOP_RESPONSE: on_emergency_stop_response,
        EventType.EMERGENCY_STOP: on_emergency_stop,
        EventType.ROBOT_REGISTERED: thresholds_changed,
        EventType.ROBOT_UPDATED: thresholds_changed,
        EventType.ROBOT_DEACTIVATED: deactivated,
    }
    rules = dict(own)
    for event_type in robot_message_types:
        rules[event_type] = _chain(heard_from, own[event_type]) if event_type in own else heard_from
    return rules
