"""The stream's clock: `clock_tick` events, so folds know what time it is without a wall clock.

Every `period_s` seconds each emitter (every projector replica, active or standby: no
leader needed) publishes one tick for the period bucket it is in. The tick's envelope is a
pure function of the bucket (id, time, payload), and its id is the `Nats-Msg-Id`, so
JetStream keeps one tick per bucket however many replicas emit it (within the stream's
duplicate window, 2 minutes). See docs/alarms.md, "Time from the stream".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime

from .codec import encode, headers_for
from .envelope import EventEnvelope, EventType
from .kinds import ClockTickV1
from .stream import StreamNames

log = logging.getLogger(__name__)

CLOCK_ROBOT_ID = "_clock"  # not a robot: ticks never register one
CLOCK_SOURCE = "clock"


def bucket_start(now: datetime, period_s: int) -> datetime:
    """The start of the period bucket `now` falls in (UTC, whole seconds)."""
    epoch = math.floor(now.timestamp() / period_s) * period_s
    return datetime.fromtimestamp(epoch, UTC)


def tick_event(bucket: datetime, period_s: int, offline_after_s: float) -> EventEnvelope:
    """The tick for one bucket. Same bucket, same id: replicas' copies deduplicate."""
    epoch = int(bucket.timestamp())
    return EventEnvelope(
        event_id=f"clock_tick-{epoch}",
        event_type=EventType.CLOCK_TICK,
        schema_version=1,
        robot_id=CLOCK_ROBOT_ID,
        occurred_at=None,
        received_at=bucket,
        source=CLOCK_SOURCE,
        payload=ClockTickV1(period_s=period_s, offline_after_s=offline_after_s).model_dump(
            exclude={"robot_id", "timestamp"}
        ),
    )


async def publish_tick(js, names: StreamNames, event: EventEnvelope):
    """Publish one tick; JetStream's ack (`duplicate` true when another replica was first)."""
    return await js.publish(
        names.subjects.event(CLOCK_ROBOT_ID, EventType.CLOCK_TICK),
        encode(event),
        stream=names.events,
        headers=headers_for(event),
    )


async def run_clock(
    js,
    names: StreamNames,
    period_s: int,
    offline_after_s: float,
    stop: asyncio.Event,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_published: Callable[[bool], None] = lambda duplicate: None,
    on_failed: Callable[[], None] = lambda: None,
) -> None:
    """Until `stop`: one tick per bucket, published just after the bucket starts. A failed
    publish is logged and counted; the next bucket is tried anyway (a missed tick delays
    offline detection by one period, no more)."""
    while not stop.is_set():
        bucket = bucket_start(now(), period_s)
        try:
            ack = await publish_tick(js, names, tick_event(bucket, period_s, offline_after_s))
            on_published(bool(getattr(ack, "duplicate", False)))
        except Exception as exc:  # NATS down or slow: the next bucket tries again
            on_failed()
            log.warning(
                "clock tick for %s not published: %s: %s", bucket.isoformat(), type(exc).__name__, exc
            )
        delay = bucket.timestamp() + period_s - now().timestamp()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, delay) + 0.05)
