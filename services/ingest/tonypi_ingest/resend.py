"""The latched emergency stop, sent again to a robot that reported without it (presence
notices; docs/commands.md). Each resend is claimed first, under an id made of the latch
and the status event that revealed it, so replicas following the same status send it once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import nats.errors
from tonypi_runtime.logs import Throttled

from . import metrics
from .claims import Claims, Publish, send_claimed
from .presence import Latch
from .robot_messages import latched_stop

log = logging.getLogger("tonypi_ingest.commands")


class LatchResender:
    def __init__(
        self,
        topic_prefix: str,
        publish: Publish,
        mqtt_ready: Callable[[], bool],
        claims: Callable[[], Claims | None],
        throttled: Throttled,
    ) -> None:
        self._prefix, self._publish, self._mqtt_ready = topic_prefix, publish, mqtt_ready
        self._claims, self._throttled = claims, throttled
        self._tasks: set[asyncio.Task] = set()

    def later(self, robot_id: str, latch: Latch, status_event_id: str) -> None:
        """Presence's `on_forgot`: resend without holding presence up."""
        task = asyncio.create_task(self.resend(robot_id, latch, status_event_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def resend(self, robot_id: str, latch: Latch, status_event_id: str) -> None:
        claims = self._claims()
        if claims is None or not self._mqtt_ready():
            return  # the robot's next status tries again
        topic, body = latched_stop(self._prefix, robot_id, latch)
        msg_id = f"resend-{latch.command_id}-{status_event_id}"[:200]
        try:
            if not await claims.claim(robot_id, latch.command_id, topic, msg_id, to_robot=robot_id):
                return  # another replica followed the same status event
        except (TimeoutError, nats.errors.Error) as exc:
            self._throttled.warning("resend", "could not record the stop resend to %s (%s)", robot_id, exc)
            return
        log.warning(
            "%s reported without its latched emergency stop %s: sending it again", robot_id, latch.command_id
        )
        metrics.COMMANDS.labels("resent").inc()
        await send_claimed(self._publish, topic, body, latch.command_id)
