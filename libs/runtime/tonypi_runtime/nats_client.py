"""NATS for every service: connect with backoff, then wait for the streams.

Once connected, nats-py reconnects by itself; before that, a server that is not up yet is
retried here with capped backoff, one line per attempt (retry.py).

The services never create or change a stream (their NATS users may not: auth.conf): an admin
declares them with `tonypi streams declare`. Until then a service looks them up again and
again, saying which one is missing (its log, and its /readyz)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import nats
import nats.errors
from nats.js import JetStreamContext
from tonypi_events import StreamNames, missing_streams

from .config import ServiceUrl
from .retry import backoff_delays, retry_forever

# Not answering, or refusing for now (JetStream's errors are nats.errors.Error too).
NATS_UNREACHABLE: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError, nats.errors.Error)
DECLARE_HINT = "an admin declares it with `tonypi streams declare`"


async def connect_nats(
    url: ServiceUrl,
    name: str,
    log: logging.Logger,
    *,
    retry_on: tuple[type[BaseException], ...] = NATS_UNREACHABLE,
    **options: Any,
) -> nats.NATS:
    """Connect as client `name`, retrying until NATS answers; `options` go to nats.connect."""
    return await retry_forever(
        lambda: nats.connect(url.with_credentials, name=name, **options),
        f"NATS at {url.redacted} (NATS_URL)",
        log,
        retry_on=retry_on,
    )


def not_declared(missing: list[str]) -> str:
    return f"stream {' and '.join(missing)} not declared ({DECLARE_HINT})"


async def streams_problem(js: JetStreamContext, streams: StreamNames, timeout: float = 5.0) -> str | None:
    """None when both streams exist; else why not, in words for /readyz and the log."""
    try:
        missing = await asyncio.wait_for(missing_streams(js, streams), timeout)
    except NATS_UNREACHABLE as exc:
        return f"JetStream unreachable ({exc or type(exc).__name__})"
    return not_declared(missing) if missing else None


async def wait_for_streams(
    js: JetStreamContext,
    streams: StreamNames,
    log: logging.Logger,
    report: Callable[[str | None], None] = lambda _: None,
) -> None:
    """Look the events and dead-letter streams up (STREAM.INFO) until both exist, with capped
    backoff and one log line per attempt; `report(problem)` after each look (None: found)."""
    delays = backoff_delays(cap=5.0)
    while (problem := await streams_problem(js, streams)) is not None:
        report(problem)
        delay = next(delays)
        log.warning("%s; looking again in %.1fs", problem, delay)
        await asyncio.sleep(delay)
    report(None)
