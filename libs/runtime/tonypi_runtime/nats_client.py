"""NATS for every service: connect with backoff, then declare the streams.

Once connected, nats-py reconnects by itself; before that, a server that is not up yet is
retried here with capped backoff, one line per attempt (retry.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
import nats.errors
from nats.js import JetStreamContext
from tonypi_events import StreamNames, ensure_streams

from .config import ServiceUrl
from .retry import retry_forever

# Not answering, or refusing for now (JetStream's errors are nats.errors.Error too). A server
# with no room for the streams (StreamStorageExceeded) is not among them: retrying cannot help.
NATS_UNREACHABLE: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError, nats.errors.Error)


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


async def declare_streams(js: JetStreamContext, streams: StreamNames, log: logging.Logger) -> None:
    """Create or update the events and dead-letter streams, retrying while JetStream does not
    answer. Raises StreamStorageExceeded when the server cannot reserve their sizes."""
    await retry_forever(
        lambda: ensure_streams(js, streams), "JetStream streams", log, retry_on=NATS_UNREACHABLE
    )
