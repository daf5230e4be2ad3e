"""The messages the robots' unchanged client really sends, written out literally from
docs/contract/MQTT.md ("What the robots' client really does"), independent of the
simulator (whose tests compare it with these): `(relative topic, payload)` pairs.

Timestamps are the robot's naive local clock; `at(s)` is the robot's time `s` seconds
into a test, so a 3 s cadence shows in the payloads as the firmware writes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tonypi_events import EventEnvelope, route_for

from tests.projector.support import event

Payload = dict[str, Any]
Message = tuple[str, Payload]
ROBOT_T0 = datetime(2026, 11, 26, 10, 15, 2, 123456)


def at(seconds: float) -> str:
    return (ROBOT_T0 + timedelta(seconds=seconds)).isoformat()


def scan(robot: str, qr: str, t: float = 0, *, gen: int = 1) -> Message:
    body = {"qr": qr} if gen == 1 else {"qr_data": qr, "station_name": "Station A", "action": "scanned"}
    return f"tonypi/scan/{robot}", {"robot_id": robot, **body, "timestamp": at(t)}


def item_echo(robot: str, reply: Payload, t: float = 0) -> Message:
    """After every item reply, both generations: the reply echoed, no command id."""
    found = reply.get("found") is True
    return "tonypi/commands/response", {
        "robot_id": robot,
        "timestamp": at(t),
        "success": found,
        "item": reply.get("item") if found else None,
        "message": reply.get("message") or "Item info",
    }


def item_counter(robot: str, items_done: int, t: float = 0) -> Message:
    """After a found item, both generations: the client's never-resetting item counter."""
    return f"tonypi/job/{robot}", {
        "robot_id": robot,
        "percent": items_done * 10.0,
        "status": "completed" if items_done >= 10 else "working",
        "items_done": items_done,
        "items_total": 10,
        "timestamp": at(t),
    }


def gen2_started(robot: str, start: float, task: str = "Transport", items_total: int = 10) -> Message:
    return f"tonypi/job/{robot}", {
        "robot_id": robot,
        "status": "started",
        "task_name": task,
        "start_time": at(start),
        "items_total": items_total,
        "items_done": 0,
        "percent": 0.0,
        "phase": "scanning",
        "timestamp": at(start),
    }


def gen2_item(n: int, t: float) -> Payload:
    return {"item_id": f"ITEM_{n:04d}", "barcode": f"ITEM_{n:04d}", "status": "picked", "timestamp": at(t)}


def gen2_report(
    robot: str, start: float, t: float, items_done: int, *, status: str = "working", items_total: int = 10
) -> Message:
    """Every 3 s while the job runs (`working`); after it ended the same message with its
    ending, a new end_time and timestamp each time."""
    history = [gen2_item(n, start + 3 * n) for n in range(1, items_done + 1)]
    payload = {
        "robot_id": robot,
        "start_time": at(start),
        "end_time": None if status == "working" else at(t),
        "items_total": items_total,
        "items_done": items_done,
        "percent": items_done / items_total * 100,
        "status": status,
        "last_item": history[-1] if history else None,
        "history": history,
        "elapsed_time": t - start,
        "estimated_duration": 120.0,
        "timestamp": at(t),
    }
    if status != "working":
        payload["success"] = status == "completed"
    return f"tonypi/job/{robot}", payload


def command_response(robot: str, command_id: str, *, success: bool, message: str, t: float = 0) -> Message:
    return "tonypi/commands/response", {
        "robot_id": robot,
        "command_id": command_id,
        "success": success,
        "message": message,
        "timestamp": at(t),
    }


def envelope(message: Message) -> EventEnvelope:
    """The event ingest makes of a message (route and schema version as ingest picks them),
    for the pure folds' tests."""
    topic, payload = message
    route = route_for(topic)
    assert route is not None, topic
    return event(
        route.event_type, payload["robot_id"], payload, version=route.detect_version(payload), source=topic
    )
