"""Messages exactly as the deployed gen-2 firmware builds them. MQTT.md names some gen-2
fields without giving their types; the firmware decides those, and a guess that is too
narrow would dead-letter every such message."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tonypi_events import EventType, decode_payload
from tonypi_ingest.admission import Accepted, admit

NOW = datetime(2026, 11, 26, 10, 15, 3, tzinfo=UTC)
TS = "2026-11-26T10:15:02.123456"


def test_gen2_status_with_boolean_hardware_flags_is_accepted():
    # The firmware's send_status_update: "hardware_sdk": HARDWARE_SDK_AVAILABLE (a bool); the
    # gen-2 simulator also sends "hardware_mode": <bool>.
    payload = {
        "robot_id": "tonypi_fyp",
        "status": "online",
        "ip_address": "192.168.149.1",
        "camera_url": "http://192.168.149.1:8080/?action=stream",
        "hardware_available": False,
        "system_info": {
            "cpu_percent": 12.0,
            "memory_percent": 40.1,
            "disk_usage": 33.0,
            "cpu_temperature": 51.2,
            "uptime": 1234.5,
            "hardware_sdk": True,
            "hardware_mode": False,
            "platform": "Linux-6.6-aarch64",
        },
        "timestamp": TS,
    }
    verdict = admit("tonypi/status/tonypi_fyp", json.dumps(payload).encode(), NOW)
    assert isinstance(verdict, Accepted), verdict
    assert verdict.event.event_type is EventType.STATUS
    info = decode_payload(verdict.event).system_info
    assert (info.hardware_sdk, info.hardware_mode) == (True, False)


def test_gen2_vision_with_a_numeric_steering_error_is_accepted():
    # send_vision_data(..., nav_cmd, error) with `nav_cmd, error = get_navigation_command(cx, width)`:
    # the error is the target's offset from the frame centre, a number.
    payload = {
        "robot_id": "tonypi_fyp",
        "timestamp": TS,
        "state": "SEARCHING",
        "is_locked": False,
        "detection": True,
        "label": "box",
        "confidence": 0.91,
        "bbox": {"x1": 10, "y1": 20, "x2": 110, "y2": 220},
        "center_x": 60,
        "frame_width": 640,
        "navigation_command": "TURN_LEFT",
        "error": -260,
    }
    verdict = admit("tonypi/vision/tonypi_fyp", json.dumps(payload).encode(), NOW)
    assert isinstance(verdict, Accepted), verdict
    assert decode_payload(verdict.event).error == -260
