"""Is the projector keeping up? Lag and "behind and not advancing", from two facts: the
last sequence the stream holds and the checkpoint this replica last committed.

Pure bookkeeping with an injectable clock: the projector feeds it, the metrics and
/readyz read it. Lag is the stream's last sequence minus the checkpoint, so it keeps
growing while the projector is stuck (a gauge set only after each committed batch would
freeze at its last value). Stalled is how long the projector has been behind without its
checkpoint moving: 0 while it is caught up or advancing.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ProgressWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.checkpoint: int | None = None  # None: not projecting here (a standby)
        self.stream_last: int | None = None
        self._since = clock()  # the checkpoint last moved, or the projector was last caught up

    def committed(self, seq: int) -> None:
        if seq != self.checkpoint:
            self.checkpoint = seq
            self._since = self._clock()

    def stream_end(self, last_seq: int) -> None:
        was_caught_up = self.lag == 0
        self.stream_last = last_seq
        if was_caught_up:  # behind from now on at the earliest (or still caught up)
            self._since = self._clock()

    def standing_by(self) -> None:
        self.checkpoint = None
        self._since = self._clock()

    @property
    def lag(self) -> int:
        if self.checkpoint is None or self.stream_last is None:
            return 0
        return max(0, self.stream_last - self.checkpoint)

    @property
    def stalled_seconds(self) -> float:
        if self.lag == 0:
            return 0.0
        return max(0.0, self._clock() - self._since)

    def describe(self) -> str:
        if self.checkpoint is None:
            return "not projecting (standby or starting)"
        if self.lag == 0:
            return f"caught up at sequence {self.checkpoint}"
        stalled = self.stalled_seconds
        if stalled >= 1:
            return f"{self.lag} events behind, checkpoint {self.checkpoint} unchanged for {stalled:.0f}s"
        return f"{self.lag} events behind, advancing (checkpoint {self.checkpoint})"
