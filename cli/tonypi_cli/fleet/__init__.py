"""What a TonyPi robot publishes, exactly as docs/contract/MQTT.md describes it,
for both firmware generations.

Pure functions: a robot, a moment and a random source in, `(relative topic, payload)`
out. Nothing here connects or sleeps, so the simulator, the ingest benchmark and tests
build the same messages. Topics are relative: callers prepend MQTT_TOPIC_PREFIX.
Timestamps are what the firmware writes, `datetime.now().isoformat()`: naive local time.
"""

from __future__ import annotations

from .commands import (
    ALLOWED_WHILE_STOPPED,
    GEN1_COMMANDS,
    GEN2_COMMANDS,
    GEN2_JOB_COMMANDS,
    SERVO_RANGE,
    command_response,
    command_types,
    emergency_stop_response,
)
from .jobs import (
    DEMO_ITEMS,
    UNKNOWN_ITEM,
    gen2_job_report,
    gen2_job_started,
    item_counter_progress,
    item_echo,
    job_progress,
    scan,
)
from .messages import Message, Payload, Robot
from .telemetry import battery, location, log_line, sensor_burst, sensor_types, servos, status, vision

__all__ = [
    "ALLOWED_WHILE_STOPPED",
    "DEMO_ITEMS",
    "GEN1_COMMANDS",
    "GEN2_COMMANDS",
    "GEN2_JOB_COMMANDS",
    "SERVO_RANGE",
    "UNKNOWN_ITEM",
    "Message",
    "Payload",
    "Robot",
    "battery",
    "command_response",
    "command_types",
    "emergency_stop_response",
    "gen2_job_report",
    "gen2_job_started",
    "item_counter_progress",
    "item_echo",
    "job_progress",
    "location",
    "log_line",
    "scan",
    "sensor_burst",
    "sensor_types",
    "servos",
    "status",
    "vision",
]
