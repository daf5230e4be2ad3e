"""The stall bookkeeping alone (tonypi_projector.stall), with a hand-driven clock."""

from __future__ import annotations

from tonypi_projector.stall import ProgressWatch


def test_progress_watch_counts_only_time_behind_without_moving():
    now = [100.0]
    watch = ProgressWatch(clock=lambda: now[0])
    watch.committed(10)
    watch.stream_end(10)
    now[0] += 50
    assert watch.lag == 0 and watch.stalled_seconds == 0  # idle and caught up
    watch.stream_end(15)
    now[0] += 5
    assert watch.lag == 5 and watch.stalled_seconds == 5
    watch.committed(12)  # moving again
    now[0] += 1
    assert watch.lag == 3 and watch.stalled_seconds == 1
    watch.standing_by()
    assert watch.lag == 0 and watch.stalled_seconds == 0
