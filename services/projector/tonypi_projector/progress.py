"""A one-line progress bar with events/s, on stderr.

On a terminal the bar redraws in place; elsewhere (a Kubernetes Job's log, a file) it
writes a whole line every few seconds, since a log shows nothing of a line never ended."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(
        self,
        total: int,
        label: str = "replay",
        out: TextIO | None = None,
        width: int = 30,
        every: float = 0.2,
    ) -> None:
        self.total = max(total, 0)
        self.label = label
        self.out = out or sys.stderr
        self.width = width
        self.every = every
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._in_place = self.out.isatty()
        if not self._in_place:
            self.every = max(self.every, 5.0)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int, *, force: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if force or now - self._last_draw >= self.every:
            self._last_draw = now
            self._draw("" if self._in_place else "\n")

    def _draw(self, end: str = "") -> None:
        fraction = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(fraction * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        start = "\r" if self._in_place else ""
        self.out.write(
            f"{start}{self.label} [{bar}] {fraction:4.0%} {self.done:,}/{self.total:,} events "
            f"{self.rate:,.0f} ev/s{end}"
        )
        self.out.flush()

    def finish(self) -> None:
        self._draw(end="\n")
