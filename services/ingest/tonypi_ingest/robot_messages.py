"""What a robot is sent for a command (docs/commands.md): topics and JSON bodies, and
nothing else (pure: no I/O, no clock)."""

from __future__ import annotations

import json

from tonypi_events import FLEET, EventEnvelope, kinds
from tonypi_events.commanding import Plan
from tonypi_events.topics import BROADCAST, COMMAND_PATTERN, EMERGENCY_STOP_PATTERN

from .presence import Latch

Outbound = list[tuple[str, bytes]]  # (full MQTT topic, body)


def command_messages(prefix: str, event: EventEnvelope, payload) -> Outbound:
    """What goes where: the plan the query service wrote says, per robot, send it, send it
    its `stop` instead (gen 1 has no emergency stop), or send it nothing. A fleet command
    every robot takes goes once, on the broadcast topic."""
    plan = payload.plan
    fleet = event.robot_id == FLEET
    if plan is None:  # written before plans: the robot, or whoever listens
        plan = {} if fleet else {event.robot_id: Plan.SEND.value}
    send = [r for r, p in sorted(plan.items()) if p == Plan.SEND]
    everyone = payload.plan is None or len(send) == len(plan)
    stop_instead = [r for r, p in sorted(plan.items()) if p == Plan.SEND_STOP]
    command_id = payload.command_id
    if isinstance(payload, kinds.EmergencyStopV1) and payload.engaged:
        body = {"type": "emergency_stop", "reason": payload.reason or "operator", "id": command_id}
        pattern = EMERGENCY_STOP_PATTERN
        # Only gen 2 listens on the stop topic: a fleet stop goes there once, whoever else there is.
        targets = ([BROADCAST] if send or payload.plan is None else []) if fleet else send
    else:
        if isinstance(payload, kinds.EmergencyStopV1):
            body = {"type": "resume", "id": command_id}
        else:
            body = {**payload.params, "type": payload.type, "id": command_id}
        pattern = COMMAND_PATTERN
        targets = [BROADCAST] if fleet and everyone else send
    out = [(prefix + pattern.format(robot_id=t), json.dumps(body).encode()) for t in targets]
    stop = json.dumps({"type": "stop", "id": command_id}).encode()
    out += [(prefix + COMMAND_PATTERN.format(robot_id=r), stop) for r in stop_instead]
    return out


def latched_stop(prefix: str, robot_id: str, latch: Latch) -> tuple[str, bytes]:
    """The latched emergency stop, again, for a robot that reported without it."""
    topic = prefix + EMERGENCY_STOP_PATTERN.format(robot_id=robot_id)
    body = {"type": "emergency_stop", "reason": latch.reason or "operator", "id": latch.command_id}
    return topic, json.dumps(body).encode()
