"""The telemetry history's vocabulary: every metric name a robot's readings are kept under,
with its unit and meaning (docs/history.md). The projector writes samples only under these
names; the query service lists them (`GET /api/robots-db/metrics`) and accepts only them.

Names are fixed (`battery.percentage`) or a family with one bounded part:
`servo.<id>.temperature|voltage|position` for servo ids 1..MAX_SERVO_ID, and
`sensor.<name>` for sensor types matching SENSOR_NAME (at most SENSOR_NAME_MAX_CHARS
characters, and at most MAX_SENSORS_PER_ROBOT distinct ones per robot). So one robot has
at most FIXED + 3 * 32 + 32 series.

What each reading comes from (contract/MQTT.md): `tonypi/battery` (percentage, voltage,
charging, current, temperature), `tonypi/status` `system_info` (cpu_percent,
memory_percent, disk_usage, cpu_temperature, or gen 1's `temperature`), `tonypi/location`
(x, y, z, heading), `tonypi/servos` (each servo's temperature, voltage, position) and
`tonypi/sensors` (one reading per message, its `sensor_type` and `value`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SERVO_ID = 32
MAX_SENSORS_PER_ROBOT = 32
SENSOR_NAME_MAX_CHARS = 48
SENSOR_NAME = re.compile(rf"[A-Za-z0-9_]{{1,{SENSOR_NAME_MAX_CHARS}}}")


@dataclass(frozen=True)
class Metric:
    name: str  # for a family, the pattern as listed: servo.<id>.temperature, sensor.<name>
    unit: str  # "" when the robot's own unit varies (a sensor it did not document)
    description: str


FIXED: tuple[Metric, ...] = (
    Metric("battery.percentage", "%", "battery charge (tonypi/battery percentage)"),
    Metric("battery.voltage", "V", "battery voltage (tonypi/battery voltage)"),
    Metric("battery.charging", "0/1", "1 while charging, 0 otherwise (tonypi/battery charging)"),
    Metric("battery.current", "A", "battery current, when the firmware sends it"),
    Metric("battery.temperature", "°C", "battery temperature, when the firmware sends it"),
    Metric("cpu.percent", "%", "CPU use (status system_info.cpu_percent)"),
    Metric("memory.percent", "%", "memory use (status system_info.memory_percent)"),
    Metric("disk.percent", "%", "disk use (status system_info.disk_usage)"),
    Metric(
        "cpu.temperature",
        "°C",
        "CPU temperature (status system_info.cpu_temperature, gen 1's system_info.temperature)",
    ),
    Metric("location.x", "m", "position x (tonypi/location)"),
    Metric("location.y", "m", "position y (tonypi/location)"),
    Metric("location.z", "m", "position z (tonypi/location)"),
    Metric("location.heading", "°", "heading, when the firmware sends it (tonypi/location)"),
)
SERVO_FIELDS: dict[str, Metric] = {
    "temperature": Metric("servo.<id>.temperature", "°C", f"servo temperature, servo id 1..{MAX_SERVO_ID}"),
    "voltage": Metric("servo.<id>.voltage", "V", f"servo voltage, servo id 1..{MAX_SERVO_ID}"),
    "position": Metric("servo.<id>.position", "°", f"servo position, servo id 1..{MAX_SERVO_ID}"),
}
# The sensor types contract/MQTT.md names, with the unit the robots send them in.
SENSOR_UNITS: dict[str, str] = {
    "accelerometer_x": "m/s²",
    "accelerometer_y": "m/s²",
    "accelerometer_z": "m/s²",
    "gyroscope_x": "°/s",
    "gyroscope_y": "°/s",
    "gyroscope_z": "°/s",
    "ultrasonic_distance": "cm",
    "camera_light_level": "",
    "light_level": "",
    "light_sensor_dark": "0/1",
    "servo_angle": "°",
    "cpu_temperature": "°C",
}
SENSOR = Metric(
    "sensor.<name>",
    "",
    f"a sensor reading (tonypi/sensors value), name [A-Za-z0-9_]{{1,{SENSOR_NAME_MAX_CHARS}}}, "
    f"at most {MAX_SENSORS_PER_ROBOT} per robot; unit as the robot sends it",
)
VOCABULARY: tuple[Metric, ...] = (*FIXED, *SERVO_FIELDS.values(), SENSOR)
_BY_NAME = {m.name: m for m in FIXED}
_SERVO = re.compile(r"servo\.([0-9]{1,2})\.(temperature|voltage|position)")
_SENSOR = re.compile(rf"sensor\.({SENSOR_NAME.pattern})")
MAX_SERIES_PER_ROBOT = len(FIXED) + len(SERVO_FIELDS) * MAX_SERVO_ID + MAX_SENSORS_PER_ROBOT


def servo_metric(servo_id: int, field: str) -> str:
    return f"servo.{servo_id}.{field}"


def sensor_metric(name: str) -> str:
    return f"sensor.{name}"


def unit_of(name: str) -> str | None:
    """The unit of a concrete metric name, or None when the name is not in the vocabulary."""
    fixed = _BY_NAME.get(name)
    if fixed is not None:
        return fixed.unit
    servo = _SERVO.fullmatch(name)
    if servo is not None:
        return SERVO_FIELDS[servo.group(2)].unit if 1 <= int(servo.group(1)) <= MAX_SERVO_ID else None
    sensor = _SENSOR.fullmatch(name)
    if sensor is not None:
        return SENSOR_UNITS.get(sensor.group(1), "")
    return None


def is_metric(name: str) -> bool:
    return unit_of(name) is not None
