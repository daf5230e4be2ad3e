"""An alarm's lifecycle, pure: raise, escalate, de-escalate, clear, acknowledge.

Every rule ends in `settle(ctx, state, kind, severity)`: the severity the condition calls
for now (None: it is over). One open alarm per robot and kind, in the robot's state (and
in the database: a partial unique index). Times are the event's; ids derive from its
sequence (`FoldContext.next_alarm_id`), so a replay writes the same rows.
"""

from __future__ import annotations

from typing import Any

from tonypi_events.alarms import CLEARED, CRITICAL, OPEN, WARNING, AlarmAction

from ..rows import Alarm, AlarmTransition, JsonObject, evolve
from .context import FoldContext, RobotState

SEVERITY_RANK = {WARNING: 1, CRITICAL: 2}

RAISED = AlarmAction.RAISED.value
ESCALATED = AlarmAction.ESCALATED.value
DEESCALATED = AlarmAction.DEESCALATED.value
CLEARED_ACTION = AlarmAction.CLEARED.value
ACKNOWLEDGED = AlarmAction.ACKNOWLEDGED.value


def _transition(
    ctx: FoldContext,
    alarm: Alarm,
    action: str,
    *,
    transition_id: int | None = None,
    actor: JsonObject | None = None,
    message: str | None = None,
) -> AlarmTransition:
    return AlarmTransition(
        id=ctx.next_alarm_id() if transition_id is None else transition_id,
        alarm_id=alarm.id,
        robot_id=alarm.robot_id,
        kind=alarm.kind,
        action=action,
        severity=alarm.severity,
        at=ctx.at,
        event_seq=ctx.seq,
        value=alarm.value,
        actor=actor,
        message=message or alarm.message,
    )


def _with_open(state: RobotState, kind: str, alarm: Alarm | None) -> RobotState:
    alarms = dict(state.alarms)
    if alarm is None:
        alarms.pop(kind, None)
    else:
        alarms[kind] = alarm
    return evolve(state, alarms=alarms)


def settle(
    ctx: FoldContext,
    state: RobotState,
    kind: str,
    severity: str | None,
    message: str,
    *,
    value: float | None = None,
    threshold: float | None = None,
    details: dict[str, Any] | None = None,
) -> RobotState:
    """Bring the robot's `kind` alarm to `severity`. An inactive (deleted) robot raises
    nothing. The same severity again changes nothing (no row write, no transition), unless
    `details` differ: then the row is rewritten with them, still without a transition."""
    robot = state.robot
    if severity is not None and (robot is None or not robot.is_active):
        severity = None
    current = state.alarms.get(kind)
    if severity is None:
        if current is None:
            return state
        cleared = evolve(current, state=CLEARED, cleared_at=ctx.at, updated_at=ctx.at, value=value)
        ctx.wrote_alarm(cleared, _transition(ctx, cleared, CLEARED_ACTION, message=message))
        return _with_open(state, kind, None)
    if current is None:
        alarm_id = ctx.next_alarm_id()
        alarm = Alarm(
            id=alarm_id,
            robot_id=ctx.robot_id,
            kind=kind,
            severity=severity,
            state=OPEN,
            message=message,
            raised_at=ctx.at,
            updated_at=ctx.at,
            value=value,
            threshold=threshold,
            details=details,
        )
        ctx.wrote_alarm(alarm, _transition(ctx, alarm, RAISED, transition_id=alarm_id))
        return _with_open(state, kind, alarm)
    if current.severity == severity:
        if details is None or details == current.details:
            return state
        restated = evolve(current, details=details, message=message, updated_at=ctx.at)
        ctx.wrote_alarm(restated, None)
        return _with_open(state, kind, restated)
    escalated = SEVERITY_RANK[severity] > SEVERITY_RANK[current.severity]
    changes: dict[str, Any] = dict(
        severity=severity, updated_at=ctx.at, value=value, threshold=threshold, message=message
    )
    if details is not None:
        changes["details"] = details
    if escalated:  # what the operator acknowledged was the lesser condition: ask again
        changes.update(acknowledged_at=None, acknowledged_by=None)
    moved = evolve(current, **changes)
    ctx.wrote_alarm(moved, _transition(ctx, moved, ESCALATED if escalated else DEESCALATED))
    return _with_open(state, kind, moved)


def acknowledge(ctx: FoldContext, state: RobotState, alarm_id: int, actor: JsonObject) -> RobotState:
    """An operator's acknowledgement of an open alarm. Twice, or of an alarm no longer open
    (cleared meanwhile, or not this robot's), changes nothing."""
    alarm = next((a for a in state.alarms.values() if a.id == alarm_id), None)
    if alarm is None or alarm.acknowledged_at is not None:
        return state
    acked = evolve(alarm, acknowledged_at=ctx.at, acknowledged_by=actor, updated_at=ctx.at)
    who = actor.get("name", "?")
    ctx.wrote_alarm(
        acked, _transition(ctx, acked, ACKNOWLEDGED, actor=actor, message=f"acknowledged by {who}")
    )
    return _with_open(state, alarm.kind, acked)


def level(
    value: float,
    current: str | None,
    warning: float | None,
    critical: float | None,
    margin: float,
    *,
    low_is_bad: bool,
) -> str | None:
    """The severity a reading calls for, with hysteresis by margin: entering a level takes
    reaching its threshold; leaving it takes getting `margin` back past the threshold. A
    value hovering at a threshold raises once and stays until it has really recovered."""
    sign = 1.0 if low_is_bad else -1.0  # compare as "lower is worse"
    v = sign * value

    def reached(threshold: float | None) -> bool:
        return threshold is not None and v <= sign * threshold

    def not_recovered(threshold: float | None) -> bool:
        return threshold is not None and v < sign * threshold + margin

    if reached(critical) or (current == CRITICAL and not_recovered(critical)):
        return CRITICAL
    if reached(warning) or (current is not None and not_recovered(warning)):
        return WARNING
    return None
