"""Appending each due schedule firing's `start_job` command, exactly once (docs/schedules.md).

The projector fires schedules from the stream's clock into `schedule_firings` (state `due`)
but asks no robot for anything itself: the query service, which already appends every
operator command, does. Every replica runs this loop. For each due firing fired within
DISPATCH_WINDOW it appends `command_requested` (type `start_job`, params {task_name,
items_total}) whose event id, the Nats-Msg-Id, is derived from the firing's id: JetStream
keeps one however many replicas (or retries) append it, because the window is shorter than
the stream's duplicate window (120 s). The projector folding that command marks the firing
`dispatched`; one still due 90 s after its tick is recorded `missed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
from tonypi_events import CURRENT_VERSION, EventEnvelope, EventType, actors, utc_now
from tonypi_events.commanding import Plan
from tonypi_runtime.logs import Throttled

from . import metrics
from .checkpoint import CheckpointWatcher
from .reads import Reads
from .writes import RobotWrites

log = logging.getLogger(__name__)

DISPATCH_WINDOW_S = 60.0  # inside the stream's 120 s duplicate window, with room to spare
POLL_S = 1.0
SCHEDULE_SOURCE = "schedule"
START_JOB = "start_job"


def command_event(firing: Mapping[str, Any]) -> EventEnvelope:
    """The firing's start_job request, as the command API writes one for a robot (the current
    schema: the schedule's author with how they signed in, and the plan); its id (and so its
    Nats-Msg-Id) is the firing's."""
    actor = dict(firing["actor"] or {})
    payload = actors.CommandRequestedV2(
        robot_id=firing["robot_id"],
        command_id=firing["command_id"],
        type=START_JOB,
        params={"task_name": firing["task_name"], "items_total": firing["items_total"]},
        timeout_s=firing["timeout_s"],
        wait=False,
        robot_online=True,  # the fold fired it only for an online robot that takes start_job
        actor=actors.ActorV2(
            name=actor.get("name", "schedule"),
            role=actor.get("role"),
            via=actor.get("via", "unknown"),
            schedule_id=firing["schedule_id"],
        ),
        plan={firing["robot_id"]: Plan.SEND.value},
    )
    event_type = EventType.COMMAND_REQUESTED
    return EventEnvelope(
        event_id=f"schedule-{firing['command_id']}",
        event_type=event_type,
        schema_version=CURRENT_VERSION[event_type],
        robot_id=firing["robot_id"],
        received_at=utc_now(),
        source=SCHEDULE_SOURCE,
        payload=payload.model_dump(mode="json", exclude_unset=True),
    )


class ScheduleDispatcher:
    def __init__(self, reads: Reads, writes: RobotWrites, checkpoint: CheckpointWatcher) -> None:
        self._reads, self._writes, self._checkpoint = reads, writes, checkpoint
        self._failures = Throttled(log, 60.0)

    async def dispatch_due(self) -> int:
        """Append the command of every due firing in the window; returns how many were new."""
        appended = 0
        for firing in await self._reads.due_firings(DISPATCH_WINDOW_S):
            try:
                new = await self._writes.append_once(command_event(firing))
            except Exception as exc:  # NATS down or slow: retried on the next round, in the window
                metrics.SCHEDULE_DISPATCHES.labels("failed").inc()
                self._failures.log(
                    logging.WARNING,
                    "dispatch",
                    "appending the start_job of schedule firing %s failed (%s: %s); retrying",
                    firing["command_id"],
                    type(exc).__name__,
                    exc,
                )
                continue
            metrics.SCHEDULE_DISPATCHES.labels("appended" if new else "duplicate").inc()
            appended += new
        return appended

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: after each batch the projector commits (a tick that fired), or every POLL_S."""
        while not stop.is_set():
            seen = self._checkpoint.latest
            if self._writes.connected:
                try:
                    await self.dispatch_due()
                except asyncpg.UndefinedTableError:  # started beside the projector (`tonypi up`)
                    log.debug("schedule firings not readable yet: the projector has not migrated")
                except Exception as exc:  # the database unreachable: try again next round
                    self._failures.log(
                        logging.WARNING,
                        "read",
                        "reading due schedule firings failed (%s: %s)",
                        type(exc).__name__,
                        exc,
                    )
            await self._checkpoint.wait_for(seen + 1, POLL_S)
