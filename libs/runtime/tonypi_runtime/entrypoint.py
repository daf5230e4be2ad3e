"""Running a service process: signals, config errors as one line, exit codes."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .config import ConfigError


def stop_event_on_signals() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT, so a service can drain and exit 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds`, cut short when `stop` is set. True when `stop` was set (a shutdown)."""
    if stop.is_set():  # wait_for with no time left would report a timeout even then
        return True
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


T = TypeVar("T")


class StoppedDuringStartup(Exception):
    """SIGTERM or SIGINT came while the service was still connecting: nothing to drain."""


async def unless_stopped(stop: asyncio.Event, step: Awaitable[T]) -> T:
    """Await a start-up step (connecting, with retries for as long as it takes), cancelled at
    once when `stop` is set: a service asked to stop before its brokers answered exits
    promptly instead of waiting for the orchestrator's SIGKILL."""
    task = asyncio.ensure_future(step)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise StoppedDuringStartup


def run_service(name: str, main: Callable[[], Awaitable[None]]) -> None:
    """Run `main` on uvloop where installed; a ConfigError becomes one line and exit 2."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvloop is optional: it only makes the loop faster
        runner = asyncio.run
    try:
        runner(main())
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (KeyboardInterrupt, StoppedDuringStartup):
        pass
