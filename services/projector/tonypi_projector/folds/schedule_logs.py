"""system_logs lines for the operators' schedule writes (category `schedule`). Pure.

The schedules themselves are folded by `schedules.ScheduleBook`; these lines say who asked
for what, as the command and emergency-stop lines do."""

from __future__ import annotations

from tonypi_events import EventType, kinds

from .context import FoldContext, RobotState


def _who(actor: kinds.Actor) -> str:
    return f"{actor.name} ({actor.role})" if actor.role else actor.name


def on_job_scheduled(ctx: FoldContext, state: RobotState, payload: kinds.JobScheduledV1) -> RobotState:
    when = (
        f"on '{payload.cron}' (UTC)"
        if payload.cron
        else f"at {payload.at.isoformat() if payload.at else '?'}"
    )
    ctx.log(
        "INFO",
        "schedule",
        f"Job {payload.task_name!r} ({payload.items_total} items) scheduled {when} for "
        f"{', '.join(payload.robot_ids)} by {_who(payload.actor)}",
        {"schedule_id": payload.schedule_id, "actor": payload.actor.model_dump()},
        about_robot=False,
    )
    return state


def _changed(word: str):
    def fold(ctx: FoldContext, state: RobotState, payload: kinds.ScheduleChangedV1) -> RobotState:
        ctx.log(
            "INFO",
            "schedule",
            f"Schedule {payload.schedule_id} {word} by {_who(payload.actor)}",
            {"schedule_id": payload.schedule_id, "actor": payload.actor.model_dump()},
            about_robot=False,
        )
        return state

    return fold


SCHEDULE_LOG_FOLDS = {
    EventType.JOB_SCHEDULED: on_job_scheduled,
    EventType.SCHEDULE_PAUSED: _changed("paused"),
    EventType.SCHEDULE_RESUMED: _changed("resumed"),
    EventType.SCHEDULE_CANCELLED: _changed("cancelled"),
}
