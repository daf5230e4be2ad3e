"""Telemetry history: the numeric readings of one robot message, as samples. Pure, no I/O.

Registered by event type (HISTORY_FOLDS). Each sampler takes the robot's state *before*
the event's own fold (what it knew of the robot's sensors) and the decoded payload, and
appends `Sample(robot_id, metric, received_at, value)` rows to the context under the names
of `tonypi_events.metrics_vocabulary`. A reading the vocabulary bounds refuse (a servo id
outside 1..32, a sensor name outside the pattern, a 33rd sensor of one robot) is not
sampled: `ctx.refused` says why, and the applier counts and logs it. Missing values
(null, absent) are simply not sampled.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tonypi_events import EventType
from tonypi_events import metrics_vocabulary as vocab

from ..rows import Sample
from .context import FoldContext, RobotState

# Refusal reasons (tonypi_projector_history_refused_total{reason}).
SERVO_ID = "servo_id_out_of_range"
SENSOR_NAME = "sensor_name_invalid"
TOO_MANY_SENSORS = "too_many_sensors"

_SERVO_KEY = re.compile(r"servo_([0-9]{1,9})")


def _add(ctx: FoldContext, metric: str, value: float | bool | None) -> None:
    if value is not None:
        ctx.samples.append(Sample(ctx.robot_id, metric, ctx.at, float(value)))


def sample_battery(ctx: FoldContext, state: RobotState, payload) -> None:
    _add(ctx, "battery.percentage", payload.percentage)
    _add(ctx, "battery.voltage", payload.voltage)
    _add(ctx, "battery.charging", payload.charging)
    _add(ctx, "battery.current", payload.current)
    _add(ctx, "battery.temperature", payload.temperature)


def sample_status(ctx: FoldContext, state: RobotState, payload) -> None:
    info = payload.system_info
    if info is None:
        return
    _add(ctx, "cpu.percent", info.cpu_percent)
    _add(ctx, "memory.percent", info.memory_percent)
    _add(ctx, "disk.percent", info.disk_usage)
    # Gen 2 names it cpu_temperature; gen 1's system_info.temperature is the same reading.
    _add(
        ctx, "cpu.temperature", info.cpu_temperature if info.cpu_temperature is not None else info.temperature
    )


def sample_location(ctx: FoldContext, state: RobotState, payload) -> None:
    _add(ctx, "location.x", payload.x)
    _add(ctx, "location.y", payload.y)
    _add(ctx, "location.z", payload.z)
    _add(ctx, "location.heading", payload.heading)


def _servo_id(key: str, servo) -> int | None:
    if servo.id is not None:
        return servo.id
    named = _SERVO_KEY.fullmatch(key)
    return int(named.group(1)) if named else None


def sample_servos(ctx: FoldContext, state: RobotState, payload) -> None:
    for key in sorted(payload.servos):
        servo = payload.servos[key]
        servo_id = _servo_id(key, servo)
        if servo_id is None or not 1 <= servo_id <= vocab.MAX_SERVO_ID:
            ctx.refused.append((SERVO_ID, f"servo {key!r} id {servo_id} is outside 1..{vocab.MAX_SERVO_ID}"))
            continue
        for field in vocab.SERVO_FIELDS:
            _add(ctx, vocab.servo_metric(servo_id, field), getattr(servo, field))


def sample_sensor(ctx: FoldContext, state: RobotState, payload) -> None:
    if payload.value is None:
        return
    name = payload.sensor_type
    if not vocab.SENSOR_NAME.fullmatch(name):
        ctx.refused.append((SENSOR_NAME, f"sensor name {name[:64]!r} is not [A-Za-z0-9_]{{1,48}}"))
        return
    known = state.robot.telemetry.get("sensors", {}) if state.robot is not None else {}
    if (
        name not in known
        and sum(1 for s in known if vocab.SENSOR_NAME.fullmatch(s)) >= vocab.MAX_SENSORS_PER_ROBOT
    ):
        ctx.refused.append(
            (
                TOO_MANY_SENSORS,
                f"sensor {name!r}: the robot has {vocab.MAX_SENSORS_PER_ROBOT} sensors already",
            )
        )
        return
    _add(ctx, vocab.sensor_metric(name), payload.value)


Sampler = Callable[[FoldContext, RobotState, object], None]
HISTORY_FOLDS: dict[EventType, Sampler] = {
    EventType.BATTERY: sample_battery,
    EventType.STATUS: sample_status,
    EventType.LOCATION: sample_location,
    EventType.SERVOS: sample_servos,
    EventType.SENSOR: sample_sensor,
}
