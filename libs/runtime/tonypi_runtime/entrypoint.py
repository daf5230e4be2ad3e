"""Running a service process: signals, config errors as one line, exit codes."""
from __future__ import annotations

import asyncio
import signal
import sys
from typing import Awaitable, Callable

from .config import ConfigError


def stop_event_on_signals() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT, so a service can drain and exit 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


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
    except KeyboardInterrupt:
        pass
