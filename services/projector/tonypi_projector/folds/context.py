"""What a fold sees of one event, and what it hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tonypi_events import EventEnvelope

from ..rows import Job, JsonObject, LogEntry, Robot, TokenChange

# system_logs ids are sequence * LOG_IDS_PER_EVENT + n: an event writes at most this many lines.
LOG_IDS_PER_EVENT = 16

ItemCatalogue = Mapping[str, JsonObject]


@dataclass(frozen=True)
class RobotState:
    """All a fold needs to know about one robot: its row, its active job if any, and its
    most recent ended job (what a repeated ending or a counter running on refers to)."""

    robot: Robot | None = None
    job: Job | None = None
    last_job: Job | None = None


@dataclass(frozen=True)
class Outcome:
    state: RobotState
    jobs: tuple[Job, ...] = ()  # job rows this event wrote, in id order (ended before started)
    logs: tuple[LogEntry, ...] = ()
    tokens: tuple[TokenChange, ...] = ()
    notes: tuple[str, ...] = ()  # why a message changed nothing it might have (counted)


@dataclass
class FoldContext:
    """One event being folded: its sequence, time and robot, and the rows it produced so far.

    Lives only inside one pure `fold_event` call."""

    seq: int
    event: EventEnvelope
    items: ItemCatalogue
    jobs: list[Job] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)
    tokens: list[TokenChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def at(self) -> datetime:
        """Server receive time: every timestamp a fold writes, so a replay writes the same."""
        return self.event.received_at

    @property
    def robot_id(self) -> str:
        return self.event.robot_id

    def log(
        self,
        level: str,
        category: str,
        message: str,
        details: JsonObject | None = None,
        *,
        about_robot: bool = True,
    ) -> None:
        """Append a line; its robot_id is the event's, unless about_robot is False."""
        n = len(self.logs)
        if n >= LOG_IDS_PER_EVENT:
            raise RuntimeError(f"event {self.seq} wrote more than {LOG_IDS_PER_EVENT} log lines")
        self.logs.append(
            LogEntry(
                id=self.seq * LOG_IDS_PER_EVENT + n,
                level=level,
                category=category,
                message=message,
                robot_id=self.robot_id if about_robot else None,
                details=details,
                timestamp=self.at,
            )
        )

    def note(self, reason: str) -> None:
        """The message was recognised and deliberately changed nothing (a repeat, an echo):
        counted by reason (`tonypi_projector_messages_without_effect_total`), never logged."""
        self.notes.append(reason)

    def wrote_job(self, job: Job) -> None:
        self.jobs = [j for j in self.jobs if j.id != job.id] + [job]


def iso(value: datetime) -> str:
    return value.isoformat()


def without_none(data: Mapping[str, Any]) -> JsonObject:
    return {k: v for k, v in data.items() if v is not None}
