"""What a robot answers to operator commands and the emergency stop."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .messages import Message, Robot, base, require_gen2

GEN1_COMMANDS = ("move", "status_request", "battery_request", "stop", "shutdown")
# The gen-2 simulator (what `tonypi simulate` plays, and labs run without hardware) also takes
# the job and servo commands; the gen-2 hardware client answers them "Unknown command" (MQTT.md).
GEN2_JOB_COMMANDS = ("start_job", "stop_job", "set_servo")
GEN2_COMMANDS = (*GEN1_COMMANDS, "head_nod", "head_shake", "resume", *GEN2_JOB_COMMANDS)
SERVO_RANGE = (-90, 90)  # set_servo's position is clamped to this
ALLOWED_WHILE_STOPPED = frozenset({"resume", "status_request", "battery_request"})


def command_types(generation: int) -> tuple[str, ...]:
    return GEN2_COMMANDS if generation == 2 else GEN1_COMMANDS


def command_response(
    robot: Robot,
    now: datetime,
    command_id: str,
    *,
    success: bool = True,
    message: str = "command executed",
    data: Any = None,
) -> Message:
    payload = {**base(robot, now), "command_id": command_id, "success": success, "message": message}
    if data is not None:
        payload["data"] = data
    return Message("tonypi/commands/response", payload)


def emergency_stop_response(robot: Robot, now: datetime, command_id: str) -> Message:
    require_gen2(robot, "emergency_stop/response")
    payload = {
        **base(robot, now),
        "command_id": command_id,
        "success": True,
        "message": "emergency stop engaged",
        "status": "emergency_stopped",
    }
    return Message("tonypi/emergency_stop/response", payload)
