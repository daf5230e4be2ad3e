"""Running pure folds in unit tests: no I/O, stream sequences numbered from 1."""

from __future__ import annotations

from dataclasses import dataclass, field

from tonypi_events import EventEnvelope, encode
from tonypi_projector.batch import BatchChanges, StreamEvent, fold_batch
from tonypi_projector.folds import RobotState
from tonypi_projector.rows import Job, LogEntry

ITEMS = {
    "QR12345": {
        "sku": "SKU-12345",
        "name": "Widget A",
        "description": "Blue",
        "weight_kg": 0.25,
        "location": "Aisle 1",
    }
}


@dataclass
class Folded:
    states: dict[str, RobotState] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    logs: list[LogEntry] = field(default_factory=list)
    batches: list[BatchChanges] = field(default_factory=list)
    seq: int = 0

    def fold(self, *events: EventEnvelope) -> BatchChanges:
        stream_events = []
        for ev in events:
            self.seq += 1
            stream_events.append(StreamEvent(self.seq, encode(ev), ev))
        changes = fold_batch(self.states, stream_events, ITEMS)
        self.jobs.update(changes.jobs)
        self.logs.extend(changes.logs)
        self.batches.append(changes)
        return changes

    def robot(self, robot_id: str):
        return self.states[robot_id].robot

    def active_job(self, robot_id: str) -> Job | None:
        return self.states[robot_id].job

    def jobs_of(self, robot_id: str) -> list[Job]:
        return [j for _, j in sorted(self.jobs.items()) if j.robot_id == robot_id]

    def messages(self, category: str | None = None) -> list[str]:
        return [line.message for line in self.logs if category is None or line.category == category]
