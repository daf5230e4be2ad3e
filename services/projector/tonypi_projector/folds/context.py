"""What a fold sees of one event, and what it hands back."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tonypi_events import EventEnvelope

if TYPE_CHECKING:
    from .analytics import Analytics
    from .commands import Facts

from ..rows import Alarm, AlarmTransition, Job, JsonObject, LogEntry, Robot, Sample, TokenChange

# system_logs ids are sequence * LOG_IDS_PER_EVENT + n: an event writes at most this many
# lines, less the last slot, which is reserved: the line saying a robot went silent takes
# slot SILENT_LOG_SLOT of the robot's last message (one clock tick may find the whole fleet
# silent, more robots than one event has slots).
LOG_IDS_PER_EVENT = 16
SILENT_LOG_SLOT = LOG_IDS_PER_EVENT - 1
# alarm and alarm_transitions ids are sequence * ALARM_IDS_PER_EVENT + n: one clock tick may
# raise an offline alarm for every robot of the fleet at once.
ALARM_IDS_PER_EVENT = 1 << 20

ItemCatalogue = Mapping[str, JsonObject]


@dataclass(frozen=True)
class RobotState:
    """All a fold needs to know about one robot: its row, its active job if any, its
    most recent ended job (what a repeated ending or a counter running on refers to), and
    its open alarms."""

    robot: Robot | None = None
    job: Job | None = None
    alarms: Mapping[str, Alarm] = field(default_factory=dict)  # the open ones, by kind
    last_job: Job | None = None


@dataclass(frozen=True)
class Outcome:
    state: RobotState
    jobs: tuple[Job, ...] = ()  # job rows this event wrote, in id order (ended before started)
    logs: tuple[LogEntry, ...] = ()
    tokens: tuple[TokenChange, ...] = ()
    alarms: tuple[Alarm, ...] = ()  # alarm rows this event wrote
    transitions: tuple[AlarmTransition, ...] = ()
    notes: tuple[str, ...] = ()  # why a message changed nothing it might have (counted)
    analytics: Analytics | None = None  # deltas for the analytics tables (folds/analytics.py)
    samples: tuple[Sample, ...] = ()  # telemetry history readings (folds/history.py)
    refused: tuple[tuple[str, str], ...] = ()  # readings kept out of the history: (reason, detail)


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
    alarms: list[Alarm] = field(default_factory=list)
    transitions: list[AlarmTransition] = field(default_factory=list)
    # Alarm and transition ids of this event; shared by every robot one clock tick folds.
    ids: Iterator[int] | None = None
    # The robot being folded, when it is not the event's (a clock tick folds into every robot).
    for_robot: str | None = None
    notes: list[str] = field(default_factory=list)
    # What the command book knew before this event (folds.commands.Facts).
    facts: Facts | None = None
    numbered_logs: int = 0  # lines with an id of this event's own (not a reserved slot)
    analytics: Analytics | None = None  # made by the first delta (folds/analytics.py)
    samples: list[Sample] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def at(self) -> datetime:
        """Server receive time: every timestamp a fold writes, so a replay writes the same."""
        return self.event.received_at

    @property
    def robot_id(self) -> str:
        return self.for_robot or self.event.robot_id

    def log(
        self,
        level: str,
        category: str,
        message: str,
        details: JsonObject | None = None,
        *,
        about_robot: bool = True,
        log_id: int | None = None,
    ) -> None:
        """Append a line; its robot_id is the event's, unless about_robot is False. Its id
        derives from the event's sequence, unless `log_id` (a reserved slot) is given."""
        n = self.numbered_logs
        if log_id is None:
            if n >= SILENT_LOG_SLOT:
                raise RuntimeError(f"event {self.seq} wrote more than {SILENT_LOG_SLOT} log lines")
            self.numbered_logs += 1
        self.logs.append(
            LogEntry(
                id=self.seq * LOG_IDS_PER_EVENT + n if log_id is None else log_id,
                level=level,
                category=category,
                message=message,
                robot_id=self.robot_id if about_robot else None,
                details=details,
                timestamp=self.at,
            )
        )

    def next_alarm_id(self) -> int:
        if self.ids is None:
            self.ids = alarm_ids(self.seq)
        n = next(self.ids)
        if n >= (self.seq + 1) * ALARM_IDS_PER_EVENT:
            raise RuntimeError(f"event {self.seq} wrote more than {ALARM_IDS_PER_EVENT} alarm rows")
        return n

    def wrote_alarm(self, alarm: Alarm, transition: AlarmTransition | None) -> None:
        """An alarm row written; `transition` None: its details changed, not its state."""
        self.alarms = [a for a in self.alarms if a.id != alarm.id] + [alarm]
        if transition is not None:
            self.transitions.append(transition)

    def note(self, reason: str) -> None:
        """The message was recognised and deliberately changed nothing (a repeat, an echo):
        counted by reason (`tonypi_projector_messages_without_effect_total`), never logged."""
        self.notes.append(reason)

    def wrote_job(self, job: Job) -> None:
        self.jobs = [j for j in self.jobs if j.id != job.id] + [job]


def alarm_ids(seq: int) -> Iterator[int]:
    return itertools.count(seq * ALARM_IDS_PER_EVENT)


def iso(value: datetime) -> str:
    return value.isoformat()


def without_none(data: Mapping[str, Any]) -> JsonObject:
    return {k: v for k, v in data.items() if v is not None}
