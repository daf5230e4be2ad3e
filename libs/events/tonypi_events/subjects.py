"""JetStream subjects. Robot id and event type are both tokens, so a consumer can
filter by robot (`tonypi.events.<robot>.>`) or by type (`tonypi.events.*.scan`),
and JetStream keeps per-robot order within the one stream."""

from __future__ import annotations

from dataclasses import dataclass

from .envelope import EventType

# NATS tokens may not contain '.', '*', '>' or whitespace; robot ids are operator-chosen.
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def robot_token(robot_id: str) -> str:
    """A reversible, subject-safe spelling of a robot id (%XX for anything unsafe)."""
    if _SAFE.issuperset(robot_id):  # the usual id is its own spelling (checked per event)
        return robot_id
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in robot_id)


@dataclass(frozen=True)
class Subjects:
    prefix: str = "tonypi"

    @property
    def events_wildcard(self) -> str:
        return f"{self.prefix}.events.>"

    def event(self, robot_id: str, event_type: EventType) -> str:
        return f"{self.prefix}.events.{robot_token(robot_id)}.{event_type.value}"

    def of_type(self, event_type: EventType) -> str:
        """Every robot's events of one type."""
        return f"{self.prefix}.events.*.{event_type.value}"

    def robot_events(self, robot_id: str) -> str:
        return f"{self.prefix}.events.{robot_token(robot_id)}.>"

    @property
    def dead_letter_wildcard(self) -> str:
        return f"{self.prefix}.deadletter.>"

    def dead_letter(self, reason: str) -> str:
        return f"{self.prefix}.deadletter.{reason}"
