"""Where command requests come from: one durable JetStream pull consumer per kind
(`command_requested`, `emergency_stop`), shared by every ingest replica, so each request
goes to one replica; fetched in small batches and handed over one at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError
from tonypi_events import EventType, StreamNames, utc_now
from tonypi_runtime.logs import Throttled

from . import metrics

log = logging.getLogger("tonypi_ingest.commands")

ACK_WAIT_S = 30.0
HOLD_S = 1.0  # a held command is looked at again this often
FETCH = 20
# Requests older than this when a consumer is first created are not delivered (deadlines <= 90 s).
START_BACK = timedelta(seconds=120)

Handle = Callable[[object], Awaitable[None]]  # one pulled message; it acks or naks it


async def pull(
    js: JetStreamContext,
    streams: StreamNames,
    consumer_prefix: str,
    event_type: EventType,
    handle: Handle,
    throttled: Throttled,
) -> None:
    """Hand every request of this kind to `handle`, until cancelled."""
    sub = await _subscription(js, streams, consumer_prefix, event_type)
    try:
        await _fetch_forever(sub, handle, throttled)
    finally:
        # A fetch cancelled at stop leaves its pull request at the server, whose expiry
        # lands in this subscription with nobody to read it: left subscribed, the
        # connection's drain would wait for it until timing out.
        await quietly(sub.unsubscribe())


async def _subscription(
    js: JetStreamContext, streams: StreamNames, consumer_prefix: str, event_type: EventType
):
    config = ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_S,
        max_ack_pending=1000,
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=(utc_now() - START_BACK).isoformat().replace("+00:00", "Z"),
    )
    durable = f"{consumer_prefix}_{event_type.value}"
    subject = streams.subjects.of_type(event_type)
    while True:
        try:
            return await js.pull_subscribe(subject, durable=durable, stream=streams.events, config=config)
        except APIError as exc:  # another replica created it at the same moment: bind to it
            log.info("consumer %s: %s; binding to the existing one", durable, exc)
            await asyncio.sleep(0.2)


async def _fetch_forever(sub, handle: Handle, throttled: Throttled) -> None:
    while True:
        try:
            msgs = await sub.fetch(FETCH, timeout=1.0)
        except TimeoutError:
            continue
        except nats.errors.Error as exc:
            throttled.warning("fetch", "fetching commands failed (%s); retrying", exc)
            await asyncio.sleep(1.0)
            continue
        for msg in msgs:
            try:
                await handle(msg)
            except Exception as exc:  # one command must not stop the others
                metrics.COMMANDS.labels("error").inc()
                throttled.error("deliver", "delivering a command failed (%s: %s)", type(exc).__name__, exc)
                await quietly(msg.nak(delay=HOLD_S))


async def quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception as exc:
        log.debug("ignored: %s", exc)
