"""The command vocabulary, one home for ingest, projector and query (docs/commands.md):
which command types each firmware takes, how a robot's firmware is told from what it
sends, the states a command goes through, and what each targeted robot did with it.

Firmware profiles (contract/MQTT.md):

- `gen1`: the first client. No emergency-stop topic; its nearest equivalent is `stop`.
- `gen2`: the second client on hardware; adds `head_nod`, `head_shake`, `resume` and the
  emergency stop.
- `gen2_sim`: the gen-2 simulator labs run without hardware; also `start_job`, `stop_job`,
  `set_servo`. Told from hardware by its status saying `hardware_available: false`.

A robot is gen 2 once it sends anything only gen 2 sends (a status with a gen-2 field, or
a servos, vision, log or emergency-stop answer message); its status alone says gen 1. A
robot that has sent neither has no known firmware and is offered every type.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .envelope import EventType
from .stream import DUPLICATE_WINDOW_S

GEN1 = "gen1"
GEN2 = "gen2"
GEN2_SIM = "gen2_sim"
FIRMWARES = (GEN1, GEN2, GEN2_SIM)

GEN1_COMMANDS = ("move", "status_request", "battery_request", "stop", "shutdown")
GEN2_COMMANDS = (*GEN1_COMMANDS, "head_nod", "head_shake", "resume")
SIMULATOR_COMMANDS = (*GEN2_COMMANDS, "start_job", "stop_job", "set_servo")
# Every type some robot takes: what the API accepts at all.
COMMAND_TYPES = SIMULATOR_COMMANDS
TAKES: dict[str, frozenset[str]] = {
    GEN1: frozenset(GEN1_COMMANDS),
    GEN2: frozenset(GEN2_COMMANDS),
    GEN2_SIM: frozenset(SIMULATOR_COMMANDS),
}
# What a gen 2 robot still obeys while emergency-stopped.
ALLOWED_WHILE_STOPPED = frozenset({"resume", "status_request", "battery_request"})
# Longest a command may wait for its answer (its deadline, at most this after the request).
# Ingest claims a command (`sent-<id>` as Nats-Msg-Id) before publishing it, and a redelivered
# request finds that claim only while JetStream remembers it: every deadline must fall inside
# the duplicate window, or a command could reach its robot twice (docs/commands.md).
MAX_TIMEOUT_S = 90.0
if not MAX_TIMEOUT_S < DUPLICATE_WINDOW_S:
    raise ImportError(
        f"MAX_TIMEOUT_S {MAX_TIMEOUT_S} must be below the duplicate window {DUPLICATE_WINDOW_S}"
    )
# The range the simulator clamps a servo position to (MQTT.md): the API refuses outside it.
SERVO_POSITION_RANGE = (-90.0, 90.0)

# The gen-2 status fields gen 1 never sends (MQTT.md), at the top and inside system_info.
_GEN2_STATUS_FIELDS = (
    "ip_address",
    "camera_url",
    "hardware_available",
    "emergency_stopped",
    "emergency_reason",
)
_GEN2_SYSTEM_INFO_FIELDS = ("cpu_temperature", "hardware_mode", "hardware_sdk")
# Topics only gen 2 publishes on.
GEN2_ONLY_EVENTS = frozenset(
    {EventType.SERVOS, EventType.VISION, EventType.LOG, EventType.EMERGENCY_STOP_RESPONSE}
)


def takes(firmware: str | None, command_type: str) -> bool:
    """Whether a robot of this firmware takes this type; unknown firmware: every type."""
    return firmware not in TAKES or command_type in TAKES[firmware]


def firmware_of_status(status: dict[str, Any]) -> str:
    """The firmware a status payload (as the robot sent it) reveals."""
    info = status.get("system_info")
    info = info if isinstance(info, dict) else {}
    gen2 = any(k in status for k in _GEN2_STATUS_FIELDS) or any(k in info for k in _GEN2_SYSTEM_INFO_FIELDS)
    if not gen2:
        return GEN1
    return GEN2_SIM if status.get("hardware_available") is False else GEN2


def firmware_after(event_type: EventType, payload: dict[str, Any], known: str | None) -> str | None:
    """A robot's firmware once it sent this message: a status decides; a gen-2-only message
    makes an unknown or gen-1 robot gen 2 (its next status says whether it simulates)."""
    if event_type is EventType.STATUS:
        return firmware_of_status(payload)
    if event_type in GEN2_ONLY_EVENTS and known in (None, GEN1):
        return GEN2
    return known


class CommandState(StrEnum):
    REQUESTED = "requested"  # recorded; not yet handed to the robot
    SENT = "sent"  # ingest claimed it and published it
    SUCCEEDED = "succeeded"  # every targeted robot confirmed
    FAILED = "failed"  # every targeted robot refused
    PARTIAL = "partial"  # some confirmed, or did something else than asked (gen 1's stop)
    TIMED_OUT = "timed_out"  # no robot answered by the deadline
    EXPIRED = "expired"  # the robot was offline when asked and the caller did not wait


OPEN_STATES = frozenset({CommandState.REQUESTED, CommandState.SENT})
FINAL_STATES = frozenset(CommandState) - OPEN_STATES


class Plan(StrEnum):
    """What the query service decided for each targeted robot, carried in the request event."""

    SEND = "send"  # send it the command as asked
    SEND_STOP = "send_stop"  # an emergency stop for a gen-1 robot: its `stop` command
    UNSUPPORTED = "unsupported"  # its firmware does not take it: nothing is sent


class Outcome(StrEnum):
    """What one targeted robot did (a command's `outcomes`)."""

    PENDING = "pending"  # sent or about to be; no answer yet
    CONFIRMED = "confirmed"  # answered success
    REFUSED = "refused"  # answered failure (its text in `message`)
    STOPPED = "stopped"  # gen 1 under an emergency stop: obeyed its `stop` (not an emergency stop)
    UNSUPPORTED = "unsupported"  # its firmware does not take the type: not sent
    NO_ANSWER = "no_answer"  # nothing by the deadline


def overall_state(outcomes: dict[str, dict[str, Any]]) -> CommandState:
    """A finished command's state from its robots' outcomes."""
    values = [o.get("outcome") for o in outcomes.values()]
    if not values or all(v == Outcome.NO_ANSWER for v in values):
        return CommandState.TIMED_OUT
    if all(v == Outcome.CONFIRMED for v in values):
        return CommandState.SUCCEEDED
    if all(v == Outcome.REFUSED for v in values):
        return CommandState.FAILED
    return CommandState.PARTIAL


class AnswerDropped(StrEnum):
    """Why an answer settled nothing though it named a command (counted, logged throttled)."""

    NOT_SENT = "not_sent"  # the command was never sent: nobody was asked
    OTHER_ROBOT = "other_robot"  # the answer's robot is not one the command went to
