"""Owning the terminal's Ctrl-C while `tonypi up` runs under make.

A terminal sends Ctrl-C's SIGINT to its whole foreground process group: `make` as well as
`tonypi up`. up stops everything and exits 0, but GNU make, having got SIGINT itself,
reports 130 whatever its child returned. So up becomes its own process group and the
terminal's foreground group for as long as it runs (what a shell does for a job): the
Ctrl-C then reaches up alone, and make passes on up's 0. Given back on exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def _ignoring_sigttou() -> Iterator[None]:
    # tcsetpgrp from a process group that is not in the foreground raises SIGTTOU.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTTOU, previous)


@contextlib.contextmanager
def foreground_group() -> Iterator[None]:
    """No-op without a terminal, in the background, or when already a group leader (run
    straight from an interactive shell)."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        yield
        return
    try:
        previous = os.tcgetpgrp(tty)
        if previous != os.getpgrp() or os.getpid() == os.getpgrp():
            yield
            return
        try:
            with _ignoring_sigttou():
                os.setpgid(0, 0)
                os.tcsetpgrp(tty, os.getpgrp())
        except OSError:
            yield
            return
        try:
            yield
        finally:
            with _ignoring_sigttou(), contextlib.suppress(OSError):
                os.tcsetpgrp(tty, previous)
    finally:
        os.close(tty)
