"""Retrying an unreachable dependency with capped exponential backoff, saying so."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def backoff_delays(base: float = 0.5, cap: float = 15.0):
    """0.5, 1, 2, 4 ... capped, with jitter so replicas don't retry in lockstep."""
    delay = base
    while True:
        yield delay * random.uniform(0.8, 1.2)
        delay = min(delay * 2, cap)


async def retry_forever(
    attempt: Callable[[], Awaitable[T]],
    what: str,
    log: logging.Logger,
    *,
    retry_on: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError),
    expected: tuple[type[BaseException], ...] = (),
    base: float = 0.5,
    cap: float = 15.0,
) -> T:
    """Await `attempt` until it succeeds. One log line per failure, naming `what`: a
    WARNING, or INFO for the `expected` ones (the normal state while another service
    starts, e.g. the database the projector has not created yet)."""
    delays = backoff_delays(base, cap)
    while True:
        try:
            return await attempt()
        except retry_on as exc:
            delay = next(delays)
            level = logging.INFO if isinstance(exc, expected) else logging.WARNING
            log.log(level, "%s unreachable (%s); retrying in %.1fs", what, exc or type(exc).__name__, delay)
            await asyncio.sleep(delay)
