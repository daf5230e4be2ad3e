"""One message per robot topic and firmware generation, as MQTT.md shows them, with the
event each must become. Written out by hand so the tests state what they expect."""

from __future__ import annotations

from typing import Any, NamedTuple

from tonypi_events import EventType

TS = "2026-11-26T10:15:02.123456"


class Sample(NamedTuple):
    name: str
    topic: str  # relative to the MQTT topic prefix
    payload: dict[str, Any]
    event_type: EventType
    version: int
    robot_id: str


def _r(robot: str, **fields: Any) -> dict[str, Any]:
    return {"robot_id": robot, **fields, "timestamp": TS}


SYSTEM_INFO = {
    "platform": "Linux",
    "cpu_percent": 12.5,
    "memory_percent": 40.1,
    "disk_usage": 51.0,
    "temperature": 55.2,
    "uptime": 1234.5,
}

SAMPLES: list[Sample] = [
    # gen 1
    Sample(
        "g1-status",
        "tonypi/status/tonypi_g1",
        _r("tonypi_g1", status="online", system_info=SYSTEM_INFO),
        EventType.STATUS,
        1,
        "tonypi_g1",
    ),
    Sample(
        "g1-sensor",
        "tonypi/sensors/tonypi_g1",
        _r("tonypi_g1", sensor_type="accelerometer_x", value=1.23, unit="m/s²"),
        EventType.SENSOR,
        1,
        "tonypi_g1",
    ),
    Sample(
        "g1-battery",
        "tonypi/battery",
        _r("tonypi_g1", percentage=87.5, voltage=10.5, charging=False),
        EventType.BATTERY,
        1,
        "tonypi_g1",
    ),
    Sample(
        "g1-location",
        "tonypi/location",
        _r("tonypi_g1", x=1.0, y=2.5, z=0.0),
        EventType.LOCATION,
        1,
        "tonypi_g1",
    ),
    Sample("g1-scan", "tonypi/scan/tonypi_g1", _r("tonypi_g1", qr="QR12345"), EventType.SCAN, 1, "tonypi_g1"),
    Sample(
        "g1-job",
        "tonypi/job/tonypi_g1",
        _r("tonypi_g1", percent=40.0, status="working", items_done=4, items_total=10),
        EventType.JOB,
        1,
        "tonypi_g1",
    ),
    Sample(
        "g1-command-response",
        "tonypi/commands/response",
        _r("tonypi_g1", command_id="c-1", success=True, message="moved", data={"steps": 3}),
        EventType.COMMAND_RESPONSE,
        1,
        "tonypi_g1",
    ),
    # gen 2
    Sample(
        "g2-status",
        "tonypi/status/tonypi_g2",
        _r(
            "tonypi_g2",
            status="emergency_stopped",
            system_info={
                **SYSTEM_INFO,
                "cpu_temperature": 60.0,
                "hardware_mode": "real",
                "hardware_sdk": "hw",
            },
            ip_address="10.0.0.5",
            camera_url="http://10.0.0.5:8080",
            hardware_available=True,
            emergency_stopped=True,
            emergency_reason="button",
        ),
        EventType.STATUS,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-sensor",
        "tonypi/sensors/tonypi_g2",
        _r("tonypi_g2", sensor_type="light_level", value=300, unit="lux"),
        EventType.SENSOR,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-battery",
        "tonypi/battery",
        _r("tonypi_g2", percentage=50, voltage=10.1, charging=True, current=1.2, temperature=30.5),
        EventType.BATTERY,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-location",
        "tonypi/location",
        _r("tonypi_g2", x=3, y=4, z=0, heading=90.0),
        EventType.LOCATION,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-scan",
        "tonypi/scan/tonypi_g2",
        _r("tonypi_g2", qr_data="QR67890", station_name="Station B", action="scanned"),
        EventType.SCAN,
        2,
        "tonypi_g2",
    ),
    Sample(
        "g2-job",
        "tonypi/job/tonypi_g2",
        _r(
            "tonypi_g2",
            task_name="Transport",
            status="in_progress",
            phase="walking",
            elapsed_time=12.5,
            estimated_duration=60,
            items_done=2,
            items_total=5,
            progress_percent=40.0,
        ),
        EventType.JOB,
        2,
        "tonypi_g2",
    ),
    Sample(
        "g2-command-response",
        "tonypi/commands/response",
        _r("tonypi_g2", command_id="c-2", success=False, message="busy", status="rejected"),
        EventType.COMMAND_RESPONSE,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-servos",
        "tonypi/servos/tonypi_g2",
        _r(
            "tonypi_g2",
            servo_count=1,
            servos={
                "servo_1": {
                    "id": 1,
                    "name": "left_hip",
                    "position": 500,
                    "temperature": 41.0,
                    "voltage": 7.4,
                    "torque_enabled": True,
                    "alert_level": "normal",
                }
            },
        ),
        EventType.SERVOS,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-vision",
        "tonypi/vision/tonypi_g2",
        _r(
            "tonypi_g2",
            detection=True,
            label="box",
            confidence=0.9,
            bbox=[1, 2, 3, 4],
            center_x=2,
            frame_width=640,
            state="tracking",
            is_locked=False,
            navigation_command="forward",
            error=None,
        ),
        EventType.VISION,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-log",
        "tonypi/logs/tonypi_g2",
        _r("tonypi_g2", level="WARNING", message="low light", source="main"),
        EventType.LOG,
        1,
        "tonypi_g2",
    ),
    Sample(
        "g2-emergency-stop-response",
        "tonypi/emergency_stop/response",
        _r("tonypi_g2", command_id="e-1", success=True, message="stopped"),
        EventType.EMERGENCY_STOP_RESPONSE,
        1,
        "tonypi_g2",
    ),
]
