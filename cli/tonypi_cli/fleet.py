"""What a TonyPi robot publishes, exactly as docs/contract/MQTT.md describes it,
for both firmware generations.

Pure functions: a robot, a moment and a random source in, `(relative topic, payload)`
out. Nothing here connects or sleeps, so the simulator, the ingest benchmark and tests
build the same messages. Topics are relative: callers prepend MQTT_TOPIC_PREFIX.
Timestamps are what the firmware writes, `datetime.now().isoformat()`: naive local time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

Payload = dict[str, Any]


class Message(NamedTuple):
    topic: str  # relative to MQTT_TOPIC_PREFIX
    payload: Payload


@dataclass(frozen=True)
class Robot:
    robot_id: str
    generation: int  # firmware generation: 1 or 2

    def __post_init__(self) -> None:
        if self.generation not in (1, 2):
            raise ValueError(f"firmware generation must be 1 or 2, not {self.generation!r}")


def _stamp(now: datetime) -> str:
    return now.replace(tzinfo=None).isoformat()


def _base(robot: Robot, now: datetime) -> Payload:
    return {"robot_id": robot.robot_id, "timestamp": _stamp(now)}


# ---- status -------------------------------------------------------------------------


def status(
    robot: Robot,
    now: datetime,
    rng: random.Random,
    *,
    state: str = "online",
    uptime_s: float = 0.0,
    ip_address: str = "192.168.1.50",
) -> Message:
    """On connect, every 60 s, and with state="offline" on a clean shutdown."""
    system_info: Payload = {
        "platform": "Linux-6.1.21-v8+-aarch64-with-glibc2.36",
        "cpu_percent": round(rng.uniform(5, 60), 1),
        "memory_percent": round(rng.uniform(20, 70), 1),
        "disk_usage": round(rng.uniform(30, 60), 1),
        "temperature": round(rng.uniform(42, 68), 1),
        "uptime": round(uptime_s, 1),
    }
    payload = {**_base(robot, now), "status": state, "system_info": system_info}
    if robot.generation == 2:
        system_info.update(
            cpu_temperature=system_info["temperature"], hardware_mode="real", hardware_sdk="hiwonder"
        )
        payload.update(
            ip_address=ip_address,
            camera_url=f"http://{ip_address}:8080/?action=stream",
            hardware_available=True,
            emergency_stopped=state == "emergency_stopped",
            emergency_reason="operator pressed stop" if state == "emergency_stopped" else None,
        )
    return Message(f"tonypi/status/{robot.robot_id}", payload)


# ---- sensors: one message per sensor, about ten a burst ------------------------------

# (sensor type, gen 1 unit, gen 2 unit, typical range)
_SENSORS: tuple[tuple[str, str, str, tuple[float, float]], ...] = (
    ("accelerometer_x", "m/s²", "m/s^2", (-1.5, 1.5)),
    ("accelerometer_y", "m/s²", "m/s^2", (-1.5, 1.5)),
    ("accelerometer_z", "m/s²", "m/s^2", (9.2, 10.4)),
    ("gyroscope_x", "°/s", "deg/s", (-20, 20)),
    ("gyroscope_y", "°/s", "deg/s", (-20, 20)),
    ("gyroscope_z", "°/s", "deg/s", (-20, 20)),
    ("ultrasonic_distance", "cm", "cm", (5, 250)),
    ("camera_light_level", "%", "%", (10, 95)),
    ("servo_angle", "°", "deg", (-90, 90)),
    ("cpu_temperature", "°C", "C", (42, 68)),
)
_GEN2_ONLY_SENSORS: tuple[tuple[str, str, tuple[float, float]], ...] = (
    ("light_level", "%", (10, 95)),
    ("light_sensor_dark", "bool", (0, 1)),
)


def sensor_types(generation: int) -> list[str]:
    names = [name for name, *_ in _SENSORS]
    return names + [name for name, *_ in _GEN2_ONLY_SENSORS] if generation == 2 else names


def sensor_burst(robot: Robot, now: datetime, rng: random.Random) -> list[Message]:
    """Every 2 s: one message per sensor, on the robot's sensors topic."""
    topic = f"tonypi/sensors/{robot.robot_id}"
    readings = [
        (name, unit1 if robot.generation == 1 else unit2, span) for name, unit1, unit2, span in _SENSORS
    ]
    if robot.generation == 2:
        readings += list(_GEN2_ONLY_SENSORS)
    messages = []
    for name, unit, (low, high) in readings:
        value = float(rng.random() < 0.2) if unit == "bool" else round(rng.uniform(low, high), 3)
        messages.append(
            Message(topic, {**_base(robot, now), "sensor_type": name, "value": value, "unit": unit})
        )
    return messages


# ---- battery and location: robot id only in the payload -----------------------------


def battery(
    robot: Robot, now: datetime, rng: random.Random, *, percentage: float, charging: bool = False
) -> Message:
    """Every 30 s. The simulator keeps the charge; this only shapes the message."""
    payload = {
        **_base(robot, now),
        "percentage": round(percentage, 1),
        "voltage": round(9.6 + 3.0 * percentage / 100, 2),
        "charging": charging,
    }
    if robot.generation == 2:
        payload.update(current=round(rng.uniform(0.4, 2.2), 2), temperature=round(rng.uniform(25, 40), 1))
    return Message("tonypi/battery", payload)


def location(
    robot: Robot, now: datetime, *, x: float, y: float, z: float = 0.0, heading: float = 0.0
) -> Message:
    """Every 5 s. Gen 2 adds the heading in degrees."""
    payload = {**_base(robot, now), "x": round(x, 3), "y": round(y, 3), "z": round(z, 3)}
    if robot.generation == 2:
        payload["heading"] = round(heading % 360, 1)
    return Message("tonypi/location", payload)


# ---- scans and jobs -------------------------------------------------------------------

DEMO_ITEMS = ("QR12345", "QR67890", "QR00001")  # the catalogue ingest ships with
UNKNOWN_ITEM = "QR99999"


def scan(robot: Robot, now: datetime, qr: str, *, station_name: str = "Station A") -> Message:
    """A QR code scanned: gen 1 `qr`, gen 2 `qr_data` with station and action."""
    payload = _base(robot, now)
    if robot.generation == 1:
        payload["qr"] = qr
    else:
        payload.update(qr_data=qr, station_name=station_name, action="scanned")
    return Message(f"tonypi/scan/{robot.robot_id}", payload)


def job_progress(
    robot: Robot,
    now: datetime,
    *,
    items_done: int,
    items_total: int,
    task_name: str = "Transport",
    started: bool = False,
    elapsed_s: float = 0.0,
    estimated_s: float = 120.0,
) -> Message:
    """Job progress. Gen 1: percent and working/completed. Gen 2: task_name and
    started/in_progress/completed, with phase and timings."""
    percent = round(100.0 * items_done / items_total, 1) if items_total else 0.0
    done = items_total > 0 and items_done >= items_total
    payload = _base(robot, now)
    if robot.generation == 1:
        payload.update(
            percent=percent,
            status="completed" if done else "working",
            items_done=items_done,
            items_total=items_total,
        )
    else:
        state = "completed" if done else ("started" if started else "in_progress")
        payload.update(
            task_name=task_name,
            status=state,
            phase="delivering" if done else ("planning" if started else "collecting"),
            elapsed_time=round(elapsed_s, 1),
            estimated_duration=round(estimated_s, 1),
            items_done=items_done,
            items_total=items_total,
            progress_percent=percent,
        )
        if done:
            payload["success"] = True
    return Message(f"tonypi/job/{robot.robot_id}", payload)


def item_counter_progress(robot: Robot, now: datetime, *, items_done: int, items_total: int = 10) -> Message:
    """What both generations' client publishes after each found item reply: its own item
    counter, which never resets (past the total: 11, 12, ... and percent 110, 120)."""
    payload = {
        **_base(robot, now),
        "percent": round(100.0 * items_done / items_total, 1) if items_total else 0.0,
        "status": "completed" if items_done >= items_total else "working",
        "items_done": items_done,
        "items_total": items_total,
    }
    return Message(f"tonypi/job/{robot.robot_id}", payload)


def item_echo(robot: Robot, now: datetime, reply: Payload) -> Message:
    """What both generations' client publishes on tonypi/commands/response after each item
    reply: an echo of it, with no command id."""
    found = reply.get("found") is True
    payload = {
        **_base(robot, now),
        "success": found,
        "item": reply.get("item") if found else None,
        "message": reply.get("message") or "Item info",
    }
    return Message("tonypi/commands/response", payload)


def gen2_job_started(
    robot: Robot, now: datetime, *, task_name: str, start_time: str, items_total: int
) -> Message:
    """The gen-2 client's announcement of a job it starts."""
    _require_gen2(robot, "job announcements")
    payload = {
        **_base(robot, now),
        "status": "started",
        "task_name": task_name,
        "start_time": start_time,
        "items_total": items_total,
        "items_done": 0,
        "percent": 0.0,
        "phase": "scanning",
    }
    return Message(f"tonypi/job/{robot.robot_id}", payload)


def gen2_job_report(
    robot: Robot,
    now: datetime,
    *,
    status: str,
    start_time: str,
    items_done: int,
    items_total: int,
    elapsed_s: float,
    estimated_s: float,
    history: list[Payload],
) -> Message:
    """The gen-2 client's job report, every 3 s: `working` while the job runs, and after it
    ended the same message with its ending (`completed` or `cancelled`), a new `end_time`
    and `timestamp` each time, until the next job starts."""
    _require_gen2(robot, "job reports")
    ended = status != "working"
    payload = {
        **_base(robot, now),
        "start_time": start_time,
        "end_time": _stamp(now) if ended else None,
        "items_total": items_total,
        "items_done": items_done,
        "percent": round(100.0 * items_done / items_total, 1) if items_total else 0.0,
        "status": status,
        "last_item": history[-1] if history else None,
        "history": list(history),
        "elapsed_time": round(elapsed_s, 1),
        "estimated_duration": round(estimated_s, 1),
    }
    if ended:
        payload["success"] = status == "completed"
    return Message(f"tonypi/job/{robot.robot_id}", payload)


# ---- answers to operator commands ----------------------------------------------------

GEN1_COMMANDS = ("move", "status_request", "battery_request", "stop", "shutdown")
GEN2_COMMANDS = (*GEN1_COMMANDS, "head_nod", "head_shake", "resume")
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
    payload = {**_base(robot, now), "command_id": command_id, "success": success, "message": message}
    if data is not None:
        payload["data"] = data
    return Message("tonypi/commands/response", payload)


def emergency_stop_response(robot: Robot, now: datetime, command_id: str) -> Message:
    _require_gen2(robot, "emergency_stop/response")
    payload = {
        **_base(robot, now),
        "command_id": command_id,
        "success": True,
        "message": "emergency stop engaged",
        "status": "emergency_stopped",
    }
    return Message("tonypi/emergency_stop/response", payload)


# ---- gen 2 only: servos, vision, logs -----------------------------------------------

_SERVO_NAMES = ("left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle")


def servos(robot: Robot, now: datetime, rng: random.Random) -> Message:
    _require_gen2(robot, "servos")
    states = {}
    for number, name in enumerate(_SERVO_NAMES, start=1):
        temperature = round(rng.uniform(30, 62), 1)
        states[f"servo_{number}"] = {
            "id": number,
            "name": name,
            "position": rng.randint(0, 1000),
            "temperature": temperature,
            "voltage": round(rng.uniform(7.2, 8.4), 2),
            "torque_enabled": True,
            "alert_level": "critical" if temperature > 60 else ("warning" if temperature > 55 else "normal"),
        }
    payload = {**_base(robot, now), "servo_count": len(states), "servos": states}
    return Message(f"tonypi/servos/{robot.robot_id}", payload)


def vision(robot: Robot, now: datetime, rng: random.Random) -> Message:
    _require_gen2(robot, "vision")
    detected = rng.random() < 0.5
    center = round(rng.uniform(0, 640), 1) if detected else None
    payload = {
        **_base(robot, now),
        "detection": detected,
        "label": "qr_code" if detected else None,
        "confidence": round(rng.uniform(0.6, 0.99), 3) if detected else 0.0,
        "bbox": [center - 40, 200, center + 40, 280] if center is not None else None,
        "center_x": center,
        "frame_width": 640,
        "state": "tracking" if detected else "searching",
        "is_locked": detected and rng.random() < 0.5,
        "navigation_command": ("turn_left" if center < 280 else "turn_right" if center > 360 else "forward")
        if center is not None
        else "search",
        "error": None,
    }
    return Message(f"tonypi/vision/{robot.robot_id}", payload)


def log_line(
    robot: Robot, now: datetime, message: str, *, level: str = "INFO", source: str = "main"
) -> Message:
    _require_gen2(robot, "logs")
    payload = {**_base(robot, now), "level": level, "message": message, "source": source}
    return Message(f"tonypi/logs/{robot.robot_id}", payload)


def _require_gen2(robot: Robot, topic: str) -> None:
    if robot.generation != 2:
        raise ValueError(f"gen 1 firmware publishes no tonypi/{topic}: {robot.robot_id} is gen 1")
