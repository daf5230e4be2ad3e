"""The shapes every robot message shares: the robot, the message, its common fields."""

from __future__ import annotations

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


def stamp(now: datetime) -> str:
    return now.replace(tzinfo=None).isoformat()


def base(robot: Robot, now: datetime) -> Payload:
    return {"robot_id": robot.robot_id, "timestamp": stamp(now)}


def require_gen2(robot: Robot, topic: str) -> None:
    if robot.generation != 2:
        raise ValueError(f"gen 1 firmware publishes no tonypi/{topic}: {robot.robot_id} is gen 1")
