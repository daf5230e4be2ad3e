"""The robots' MQTT topics (docs/contract/MQTT.md), as data.

Ingest subscribes to them, the simulator publishes on them and the AsyncAPI
document describes them, all from this one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .envelope import EventType

VersionDetector = Callable[[dict[str, Any]], int]


def _always_v1(_: dict[str, Any]) -> int:
    return 1


def scan_version(payload: dict[str, Any]) -> int:
    return 2 if "qr_data" in payload else 1


_JOB_V2_ONLY = frozenset(
    {
        "task_name",
        "progress_percent",
        "phase",
        "elapsed_time",
        "estimated_duration",
        "action_duration",
        "success",
        "reason",
    }
)


def job_version(payload: dict[str, Any]) -> int:
    if _JOB_V2_ONLY & payload.keys():
        return 2
    return 1 if "percent" in payload or payload.get("status") == "working" else 2


@dataclass(frozen=True)
class TopicRoute:
    pattern: str  # MQTT filter below the topic prefix; "+" is the robot id
    event_type: EventType
    description: str
    detect_version: VersionDetector = _always_v1

    @property
    def robot_id_in_topic(self) -> bool:
        return self.pattern.endswith("/+")

    def matches(self, relative_topic: str) -> bool:
        want, got = self.pattern.split("/"), relative_topic.split("/")
        return len(want) == len(got) and all(w in ("+", g) for w, g in zip(want, got, strict=True))


ROUTES: tuple[TopicRoute, ...] = (
    TopicRoute(
        "tonypi/status/+",
        EventType.STATUS,
        "Status heartbeat: on connect, every 60 s, and offline on clean shutdown",
    ),
    TopicRoute("tonypi/sensors/+", EventType.SENSOR, "One sensor reading, about ten per burst every 2 s"),
    TopicRoute("tonypi/battery", EventType.BATTERY, "Battery state every 30 s; robot id only in the payload"),
    TopicRoute("tonypi/location", EventType.LOCATION, "Position every 5 s; robot id only in the payload"),
    TopicRoute(
        "tonypi/scan/+", EventType.SCAN, "A QR code scanned (gen 1: qr, gen 2: qr_data)", scan_version
    ),
    TopicRoute(
        "tonypi/job/+",
        EventType.JOB,
        "Job progress (gen 1: percent, gen 2: progress_percent and endings)",
        job_version,
    ),
    TopicRoute(
        "tonypi/commands/response", EventType.COMMAND_RESPONSE, "A robot's answer to an operator command"
    ),
    TopicRoute("tonypi/servos/+", EventType.SERVOS, "Servo states (gen 2)"),
    TopicRoute("tonypi/vision/+", EventType.VISION, "Vision detections (gen 2)"),
    TopicRoute("tonypi/logs/+", EventType.LOG, "The robot's own log lines (gen 2)"),
    TopicRoute(
        "tonypi/emergency_stop/response",
        EventType.EMERGENCY_STOP_RESPONSE,
        "Answer to an emergency stop (gen 2)",
    ),
)

ITEM_REPLY_PATTERN = "tonypi/items/{robot_id}"
COMMAND_PATTERN = "tonypi/commands/{robot_id}"
EMERGENCY_STOP_PATTERN = "tonypi/emergency_stop/{robot_id}"
BROADCAST = "broadcast"  # the last topic segment that reaches every robot


MQTT_TOPIC_MAX_BYTES = 65_535


def publish_topic_problem(topic: str) -> str | None:
    """Why `topic` cannot be published on (MQTT 3.1.1 / 5, 4.7): empty, a wildcard, NUL,
    not UTF-8, or too long. None: the broker will take it. A broker disconnects a client
    that publishes on a malformed topic, so every reply topic is checked first."""
    if not topic:
        return "topic is empty"
    if "+" in topic or "#" in topic:
        return "topic holds an MQTT wildcard ('+' or '#')"
    if "\x00" in topic:
        return "topic holds NUL"
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        return "topic is not encodable as UTF-8 (a lone surrogate)"
    if size > MQTT_TOPIC_MAX_BYTES:
        return f"topic is {size} bytes; MQTT allows {MQTT_TOPIC_MAX_BYTES}"
    return None


def route_for(relative_topic: str) -> TopicRoute | None:
    for route in ROUTES:
        if route.matches(relative_topic):
            return route
    return None


def subscription_filter(route: TopicRoute, prefix: str = "", share_group: str | None = None) -> str:
    topic = f"{prefix}{route.pattern}"
    return f"$share/{share_group}/{topic}" if share_group else topic
