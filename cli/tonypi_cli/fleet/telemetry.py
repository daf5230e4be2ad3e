"""Status, sensors, battery and location (both generations); servos, vision and logs (gen 2)."""

from __future__ import annotations

import random
from datetime import datetime

from .messages import Message, Payload, Robot, base, require_gen2

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
    """On connect, every 60 s, and with state="offline" on a clean shutdown. A gen-2 robot here
    is the gen-2 simulator (it takes start_job, stop_job, set_servo: MQTT.md), run as a lab
    without hardware runs it: its status says so (`hardware_available: false`, no hardware
    mode or SDK), which is how the projection tells it from gen-2 hardware."""
    system_info: Payload = {
        "platform": "Linux-6.1.21-v8+-aarch64-with-glibc2.36",
        "cpu_percent": round(rng.uniform(5, 60), 1),
        "memory_percent": round(rng.uniform(20, 70), 1),
        "disk_usage": round(rng.uniform(30, 60), 1),
        "temperature": round(rng.uniform(42, 68), 1),
        "uptime": round(uptime_s, 1),
    }
    payload = {**base(robot, now), "status": state, "system_info": system_info}
    if robot.generation == 2:
        system_info.update(
            cpu_temperature=system_info["temperature"], hardware_mode=False, hardware_sdk=False
        )
        payload.update(
            ip_address=ip_address,
            camera_url=f"http://{ip_address}:8080/?action=stream",
            hardware_available=False,
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
            Message(topic, {**base(robot, now), "sensor_type": name, "value": value, "unit": unit})
        )
    return messages


# ---- battery and location: robot id only in the payload -----------------------------


def battery(
    robot: Robot, now: datetime, rng: random.Random, *, percentage: float, charging: bool = False
) -> Message:
    """Every 30 s. The simulator keeps the charge; this only shapes the message."""
    payload = {
        **base(robot, now),
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
    payload = {**base(robot, now), "x": round(x, 3), "y": round(y, 3), "z": round(z, 3)}
    if robot.generation == 2:
        payload["heading"] = round(heading % 360, 1)
    return Message("tonypi/location", payload)


# ---- gen 2 only: servos, vision, logs -----------------------------------------------

_SERVO_NAMES = ("left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle")


def servos(robot: Robot, now: datetime, rng: random.Random) -> Message:
    require_gen2(robot, "servos")
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
    payload = {**base(robot, now), "servo_count": len(states), "servos": states}
    return Message(f"tonypi/servos/{robot.robot_id}", payload)


def vision(robot: Robot, now: datetime, rng: random.Random) -> Message:
    require_gen2(robot, "vision")
    detected = rng.random() < 0.5
    center = round(rng.uniform(0, 640), 1) if detected else None
    payload = {
        **base(robot, now),
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
    require_gen2(robot, "logs")
    payload = {**base(robot, now), "level": level, "message": message, "source": source}
    return Message(f"tonypi/logs/{robot.robot_id}", payload)
