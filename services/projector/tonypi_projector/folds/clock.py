"""Folds of the stream's clock (`clock_tick`): time passing, for robots that say nothing.

A tick is folded into every robot the batch holds: tick_slices.py loads those a tick may
change (`tick_slices.SILENT_SLICE`), a slice at a time. Each fold in `TICK_FOLDS` is pure:
it reads the tick's time (`ctx.at`, the envelope's `received_at`) and its payload, never the
wall clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tonypi_events import kinds

from ..rows import evolve
from .alarms import went_silent
from .context import LOG_IDS_PER_EVENT, SILENT_LOG_SLOT, FoldContext, RobotState

TickFold = Callable[[FoldContext, RobotState, kinds.ClockTickV1], RobotState]


def offline_cutoff(at: datetime, tick: kinds.ClockTickV1) -> datetime:
    """Robots last heard at or before this instant are silent at the tick's time."""
    return at - timedelta(seconds=tick.offline_after_s)


def on_tick_online(ctx: FoldContext, state: RobotState, tick: kinds.ClockTickV1) -> RobotState:
    """An online robot not heard within the timeout goes offline, raises `offline`, and
    says so in one line (an active robot). The line's id is the reserved slot of the
    robot's last message (`SILENT_LOG_SLOT`): one tick may silence the whole fleet, and a
    robot goes silent at most once per message heard."""
    robot = state.robot
    if robot is None or not robot.online:
        return state
    if robot.last_seen is not None and robot.last_seen > offline_cutoff(ctx.at, tick):
        return state
    if robot.is_active:
        since = robot.last_seen.isoformat() if robot.last_seen else None
        heard = robot.last_seen_seq if robot.last_seen_seq is not None else robot.id  # rows from before 0010
        ctx.log(
            "WARNING",
            "status",
            f"Robot {robot.robot_id} went offline: silent since {since}",
            {"last_seen": since, "offline_after_s": tick.offline_after_s},
            log_id=heard * LOG_IDS_PER_EVENT + SILENT_LOG_SLOT,
        )
    state = evolve(state, robot=evolve(robot, online=False))
    return went_silent(ctx, state, robot.last_seen)


# Run in this order for every robot at every tick. Other time-driven folds append here
# (and add the query finding their candidates next to tick_slices.SILENT_SLICE).
TICK_FOLDS: list[TickFold] = [on_tick_online]
