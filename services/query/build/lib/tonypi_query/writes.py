"""The write side: each operator write becomes one event on the events stream.

The query service never touches a read table. It appends the event, then waits (bounded)
for the projector's checkpoint to pass the event's sequence, so the caller reads its own
write; if the projector is further behind, the caller gets 202 and a Location to poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import APIError
from tonypi_events import (
    API_SOURCE,
    CURRENT_VERSION,
    EventEnvelope,
    EventType,
    StreamNames,
    actors,
    encode,
    headers_for,
    kinds,
    new_event_id,
    utc_now,
)
from tonypi_events.codec import EXPECTED_LAST_SUBJECT_SEQ_HEADER

from . import metrics
from .checkpoint import CheckpointWatcher
from .errors import AlreadyExists, NotFound, Unavailable
from .models import RobotCreate, RobotUpdate
from .reads import Reads

log = logging.getLogger(__name__)

# JetStream's "wrong last sequence": the subject already holds a message.
WRONG_LAST_SEQUENCE = 10071
PUBLISH_TIMEOUT = 5.0


@dataclass(frozen=True)
class WriteResult:
    sequence: int
    applied: bool  # the projector's checkpoint reached `sequence` within the wait


class RobotWrites:
    """Writes answer 503 until `attach` hands over the JetStream context: the service starts
    serving reads before NATS answers."""

    def __init__(
        self, streams: StreamNames, reads: Reads, checkpoint: CheckpointWatcher, wait_timeout: float
    ) -> None:
        self._js: JetStreamContext | None = None
        self._is_connected: Callable[[], bool] = lambda: False
        self.waiting_for: str | None = None  # e.g. which stream is not declared yet
        self._streams = streams
        self._reads = reads
        self._checkpoint = checkpoint
        self._wait_timeout = wait_timeout

    def attach(self, js: JetStreamContext, is_connected: Callable[[], bool]) -> None:
        """From now on writes publish through `js`; `is_connected` says whether its
        connection is up right now (it reconnects on its own)."""
        self._js, self._is_connected = js, is_connected

    @property
    def connected(self) -> bool:
        return self._js is not None and self._is_connected()

    @property
    def state(self) -> str:
        if self.connected:
            return "ok"
        return f"{self.waiting_for or 'disconnected'} (writes answer 503)"

    async def register(self, robot: RobotCreate, actor: dict[str, Any]) -> WriteResult:
        # Robots auto-registered from telemetry have a row but no robot_registered event,
        # so the table is checked as well as the subject.
        if await self._reads.robot_exists(robot.robot_id):
            raise AlreadyExists("Robot already exists")
        payload = actors.RobotRegisteredV2(**robot.model_dump(), actor=actor)
        try:
            # Expected last subject sequence 0: of two concurrent creates, JetStream takes one.
            return await self._append(
                EventType.ROBOT_REGISTERED, robot.robot_id, payload, {EXPECTED_LAST_SUBJECT_SEQ_HEADER: "0"}
            )
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                raise AlreadyExists("Robot already exists") from None
            raise

    async def update(self, robot_id: str, update: RobotUpdate, actor: dict[str, Any]) -> WriteResult:
        await self._require(robot_id)
        changes = update.model_dump(mode="json", exclude_none=True)  # null: unchanged
        payload = actors.RobotUpdatedV2(robot_id=robot_id, changes=changes, actor=actor)
        return await self._append(EventType.ROBOT_UPDATED, robot_id, payload)

    async def deactivate(self, robot_id: str, actor: dict[str, Any]) -> WriteResult:
        await self._require(robot_id)
        payload = actors.RobotDeactivatedV2(robot_id=robot_id, actor=actor)
        return await self._append(EventType.ROBOT_DEACTIVATED, robot_id, payload)

    async def acknowledge_alarm(self, robot_id: str, alarm_id: int, actor: dict[str, Any]) -> WriteResult:
        """On the alarm's robot's subject, so it folds in that robot's order."""
        payload = actors.AlarmAcknowledgedV2(
            robot_id=robot_id, alarm_id=alarm_id, actor=actors.ActorV2(**actor)
        )
        return await self._append(EventType.ALARM_ACKNOWLEDGED, robot_id, payload)

    async def append(self, event_type: EventType, robot_id: str, payload: kinds.Payload) -> WriteResult:
        """Any other write (commands.py): one event, then the bounded wait for the projector."""
        return await self._append(event_type, robot_id, payload)

    async def append_once(self, event: EventEnvelope) -> bool:
        """Append a prepared event under its own id as Nats-Msg-Id, without waiting for the
        projector: True if stored, False if JetStream already held that id (a duplicate)."""
        if self._js is None:
            raise Unavailable("The event stream is not connected yet")
        ack = await self._js.publish(
            self._streams.subjects.event(event.robot_id, event.event_type),
            encode(event),
            timeout=PUBLISH_TIMEOUT,
            stream=self._streams.events,
            headers=headers_for(event),
        )
        return not bool(getattr(ack, "duplicate", False))

    async def _require(self, robot_id: str) -> None:
        if not await self._reads.robot_exists(robot_id):
            raise NotFound("Robot not found")

    async def _append(
        self,
        event_type: EventType,
        robot_id: str,
        payload: kinds.Payload,
        extra_headers: dict[str, str] | None = None,
    ) -> WriteResult:
        event = EventEnvelope(
            event_id=new_event_id(),
            event_type=event_type,
            schema_version=CURRENT_VERSION[event_type],
            robot_id=robot_id,
            received_at=utc_now(),
            source=API_SOURCE,
            payload=payload.model_dump(mode="json", exclude_unset=True),
        )
        headers = {**headers_for(event), **(extra_headers or {})}
        if self._js is None:
            raise Unavailable("The event stream is not connected yet; nothing was recorded, retry later")
        try:
            ack = await self._js.publish(
                self._streams.subjects.event(robot_id, event_type),
                encode(event),
                timeout=PUBLISH_TIMEOUT,
                stream=self._streams.events,
                headers=headers,
            )
        except (TimeoutError, nats.errors.Error) as exc:
            if isinstance(exc, APIError) and exc.err_code == WRONG_LAST_SEQUENCE:
                raise
            log.warning("publishing %s for %s failed: %s", event_type.value, robot_id, exc)
            raise Unavailable(
                "The event stream did not confirm the write; retry it (a create that did land answers 400)"
            ) from None
        with metrics.WRITE_WAIT_SECONDS.time():
            applied = await self._checkpoint.wait_for(ack.seq, self._wait_timeout)
        if not applied:
            metrics.WRITES_ACCEPTED.inc()
        return WriteResult(sequence=ack.seq, applied=applied)
