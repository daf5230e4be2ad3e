"""What the deliverer knows of the fleet, read from the events stream (never from MQTT, so
every ingest replica sees the same, whichever robot messages it happened to receive):

- each robot's latest status event (online? does it say it is emergency-stopped?);
- the emergency-stop latches: the latest `emergency_stop` event per robot id and `_fleet`.

Both are ordered consumers starting at the last message per subject, then following live.
When a latched robot reports a status that does not say it is stopped (it restarted and
forgot, MQTT.md), `on_forgot(robot_id, latch, status_event_id)` is called to send it again.

Start-up must not starve MQTT (issue 23): a stream that knows 100,000 robots hands over
100,000 last statuses at once, in the event loop that reads and acknowledges MQTT. So a
status is read from its `Tonypi-Presence` header (`status_view`: never a second decode of
the event), the callbacks yield to the loop every `SLICE` messages, and `caught_up` says
when the backlog is read (ingest is not ready before: bootstrap's `/readyz`).

Memory is bounded by the robots heard within the online timeout (issue 18), not by every
robot ever heard: a robot whose last status says `offline`, or is older than the timeout,
is forgotten (`online()` is false for it either way, and a robot coming back from either
is sent its forgotten stop at once, as before). `seen` is kept in the order robots were
last heard, so the silent ones are dropped from its front as statuses arrive and every
`SWEEP_EVERY_S` (`tonypi_ingest_presence_robots`, `..._presence_forgotten_total`). Latches
are kept: one per robot an operator stopped, and the fleet's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from nats.aio.client import Client as NatsClient
from nats.js.api import DeliverPolicy
from tonypi_events import FLEET, EventType, StreamNames, decode, decode_payload, utc_now
from tonypi_events.commanding import GEN1
from tonypi_runtime.logs import Throttled

from . import metrics
from .authority import refused, refused_for
from .status_view import SubjectMismatch, read_status

log = logging.getLogger("tonypi_ingest.presence")

# A status this soon after the press may have left the robot before the stop reached it.
PRESS_GRACE = timedelta(seconds=1)
# A robot still reporting without the stop is sent it at most this often, per replica; a robot
# coming back (its previous status offline, or none) is sent it at once. Never gen 1 (no stop topic).
RESEND_EVERY_S = 30.0
# Messages handled between two yields to the event loop while a backlog is read.
SLICE = 200
# Silent robots are forgotten at least this often even while no status arrives.
SWEEP_EVERY_S = 10.0


@dataclass(frozen=True)
class Latch:
    robot_id: str
    command_id: str
    reason: str | None
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class Seen:
    status: str
    stopped: bool
    received_at: datetime


Forgot = Callable[[str, Latch, str], None]


class Presence:
    def __init__(self, streams: StreamNames, online_timeout_s: float, on_forgot: Forgot) -> None:
        self._streams, self._online_timeout = streams, timedelta(seconds=online_timeout_s)
        self._on_forgot = on_forgot
        self.latches: dict[str, Latch] = {}
        self.seen: OrderedDict[str, Seen] = OrderedDict()  # least recently heard first
        self._last_resend: dict[str, float] = {}
        self._subs: list = []
        self._sweeper: asyncio.Task | None = None
        self._throttled = Throttled(log)
        self._handled = 0
        # Event types whose backlog is not read yet; once empty it stays so (a restart of
        # command delivery reads the backlog again into what is already known).
        self._catching_up = {EventType.EMERGENCY_STOP, EventType.STATUS}
        metrics.PRESENCE_ROBOTS.set_function(lambda: len(self.seen))

    @property
    def caught_up(self) -> bool:
        return not self._catching_up

    async def start(self, nc: NatsClient) -> None:
        js = nc.jetstream()
        subjects = self._streams.subjects
        for event_type, handler in (
            (EventType.EMERGENCY_STOP, self._on_latch),
            (EventType.STATUS, self._on_status),
        ):
            subject = subjects.of_type(event_type)
            sub = await js.subscribe(
                subject,
                stream=self._streams.events,
                cb=self._sliced(event_type, handler),
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
            )
            self._subs.append(sub)
            info = await sub.consumer_info()
            if info.num_pending == 0 and info.delivered.consumer_seq == 0:
                self._catching_up.discard(event_type)  # nothing stored: nothing to read
        self._sweeper = asyncio.create_task(self._sweep())

    def _sliced(self, event_type: EventType, handler):
        async def handle(msg) -> None:
            await handler(msg)
            if event_type in self._catching_up and _pending(msg) == 0:
                self._catching_up.discard(event_type)
                log.info("presence read the stored %s events", event_type.value)
            self._handled += 1
            if self._handled % SLICE == 0:
                await asyncio.sleep(0)  # MQTT is read and acknowledged in this loop too

        return handle

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            self.forget_silent()

    def forget_silent(self, now: datetime | None = None) -> int:
        """Forget the robots last heard before the online timeout (from the front of `seen`:
        the least recently heard); how many. A status received out of time order (another
        replica's clock) waits behind a newer one until that one is forgotten too."""
        cutoff = (now or utc_now()) - self._online_timeout
        forgotten = 0
        while self.seen:
            robot_id, seen = next(iter(self.seen.items()))
            if seen.received_at >= cutoff:
                break
            self.seen.popitem(last=False)
            self._last_resend.pop(robot_id, None)
            forgotten += 1
        if forgotten:
            metrics.PRESENCE_FORGOTTEN.inc(forgotten)
        return forgotten

    def _remember(self, robot_id: str, seen: Seen) -> None:
        self.seen.pop(robot_id, None)  # to the back: the most recently heard
        if seen.status == "offline":  # online() is false without an entry; "back" reads the same
            self._last_resend.pop(robot_id, None)
            metrics.PRESENCE_FORGOTTEN.inc()
        else:
            self.seen[robot_id] = seen
        self.forget_silent()

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception as exc:  # the connection is going anyway
                log.debug("unsubscribe: %s", exc)
        self._subs.clear()

    def online(self, robot_id: str) -> bool:
        seen = self.seen.get(robot_id)
        return (
            seen is not None
            and seen.status != "offline"
            and utc_now() - seen.received_at <= self._online_timeout
        )

    def latch_for(self, robot_id: str) -> Latch | None:
        return self.latches.get(robot_id) or self.latches.get(FLEET)

    async def _on_latch(self, msg) -> None:
        try:  # the subject first: a forgery is counted as one whatever its payload
            event = decode(msg.data)
            if refused("presence", msg.subject, event, self._streams.subjects):
                return
            payload = decode_payload(event)
        except Exception as exc:  # not ours to judge: the projector dead-letters it
            self._throttled.warning("latch", "unreadable emergency_stop event at %s: %s", msg.subject, exc)
            return
        if payload.engaged:
            self.latches[event.robot_id] = Latch(
                event.robot_id, payload.command_id, payload.reason, event.received_at
            )
        else:
            self.latches.pop(event.robot_id, None)

    async def _on_status(self, msg) -> None:
        try:
            event = read_status(msg.subject, msg.headers, msg.data)
        except SubjectMismatch as exc:
            refused_for("presence", str(exc))
            return
        except ValueError as exc:
            self._throttled.warning("status", "unreadable status event at %s: %s", msg.subject, exc)
            return
        payload, stopped = event, event.stopped
        before = self.seen.get(event.robot_id)
        self._remember(event.robot_id, Seen(payload.status, stopped, event.received_at))
        latch = self.latch_for(event.robot_id)
        if latch is None or stopped or payload.status == "offline":
            return
        if event.firmware == GEN1:
            return  # gen 1 has no emergency stop to forget: it was sent its `stop` once
        back = before is None or before.status == "offline"
        now = time.monotonic()
        if not back:
            if event.received_at < latch.changed_at + PRESS_GRACE:
                return
            if now - self._last_resend.get(event.robot_id, -RESEND_EVERY_S) < RESEND_EVERY_S:
                return
        self._last_resend[event.robot_id] = now
        self._on_forgot(event.robot_id, latch, event.event_id)


def _pending(msg) -> int | None:
    """Messages of this consumer still to come after `msg` (None: not a JetStream message)."""
    try:
        return msg.metadata.num_pending
    except Exception:
        return None
