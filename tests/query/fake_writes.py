"""The in-memory write side for the query app's fast tier: records what it was asked, and
applies robot changes to the fake read side's robots table as the projector would (or not,
with `applied` False). It has exactly RobotWrites' public writes (test_reads_contract.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tonypi_events import EventEnvelope, EventType, kinds
from tonypi_query.errors import AlreadyExists, NotFound, Unavailable
from tonypi_query.models import RobotCreate, RobotUpdate
from tonypi_query.writes import WriteResult

from .fakes import FakeReads, robot_row


@dataclass
class FakeWrites:
    """Records what it was asked; `applied` False answers as a projector behind the wait."""

    reads: FakeReads
    connected: bool = True
    applied: bool = True
    recorded: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    appended_ids: set[str] = field(default_factory=set)  # append_once's ids, as Nats-Msg-Id

    @property
    def state(self) -> str:
        return "ok" if self.connected else "disconnected (writes answer 503)"

    def _append(self, kind: str, robot_id: str, change: dict[str, Any]) -> WriteResult:
        if not self.connected:
            raise Unavailable("The event stream is not connected yet; nothing was recorded, retry later")
        self.recorded.append((kind, robot_id, change))
        if self.applied:
            row = self.reads.robots.setdefault(robot_id, robot_row(robot_id))
            row.update(change)
        return WriteResult(sequence=len(self.recorded), applied=self.applied)

    async def register(self, robot: RobotCreate, actor: dict[str, Any]) -> WriteResult:
        if robot.robot_id in self.reads.robots:
            raise AlreadyExists("Robot already exists")
        return self._append("registered", robot.robot_id, robot.model_dump(exclude_none=True))

    async def update(self, robot_id: str, update: RobotUpdate, actor: dict[str, Any]) -> WriteResult:
        if robot_id not in self.reads.robots:
            raise NotFound("Robot not found")
        return self._append("updated", robot_id, update.model_dump(exclude_none=True))

    async def deactivate(self, robot_id: str, actor: dict[str, Any]) -> WriteResult:
        if robot_id not in self.reads.robots:
            raise NotFound("Robot not found")
        return self._append("deactivated", robot_id, {"is_active": False})

    async def acknowledge_alarm(self, robot_id: str, alarm_id: int, actor: dict[str, Any]) -> WriteResult:
        return self._record(EventType.ALARM_ACKNOWLEDGED.value, robot_id, {"alarm_id": alarm_id})

    async def append(self, event_type: EventType, robot_id: str, payload: kinds.Payload) -> WriteResult:
        return self._record(event_type.value, robot_id, payload.model_dump(mode="json", exclude_unset=True))

    async def append_once(self, event: EventEnvelope) -> bool:
        if not self.connected:
            raise Unavailable("The event stream is not connected yet")
        if event.event_id in self.appended_ids:
            return False  # JetStream held that id already
        self.appended_ids.add(event.event_id)
        self.recorded.append((event.event_type.value, event.robot_id, event.payload))
        return True

    def _record(self, kind: str, robot_id: str, change: dict[str, Any]) -> WriteResult:
        """An event that changes no robot row here (the projector's folds are not faked)."""
        if not self.connected:
            raise Unavailable("The event stream is not connected yet; nothing was recorded, retry later")
        self.recorded.append((kind, robot_id, change))
        return WriteResult(sequence=len(self.recorded), applied=self.applied)
