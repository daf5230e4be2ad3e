"""Folds onto the jobs table: the seed's job semantics, as the robots' unchanged clients
report them (docs/contract/semantics.md has the rules and why).

At most one active job per robot (`RobotState.job`); `RobotState.last_job` is the robot's
most recent ended job, so a repeat of its ending, or a counter still running past its
total, is recognised instead of becoming a new job.

Two kinds of job message:
- *announced* (gen 2's job reports carry the robot's `start_time`): they name their job,
  robot + `start_time` (+ `task_name` when given). The robot's own reports count such a
  job; scans and item counters beside it change nothing.
- *counter* (no `start_time`: gen 1, and both generations' per-item progress): they are
  about the robot's current counted job, as in the seed. The item counter never resets,
  so past the total it keeps counting in the same job, and a count that goes back means
  the robot restarted: a new job.
"""

from __future__ import annotations

import math
from typing import Any

from tonypi_events import EventType, kinds

from ..rows import Job, JsonObject, evolve
from .context import FoldContext, RobotState, without_none
from .dispatch import take_dispatch

DEFAULT_SCAN_ITEMS_TOTAL = 10
ENDINGS = {"completed": "INFO", "cancelled": "WARNING", "failed": "ERROR"}
# A job a new start replaced: it ends at its real progress, under its own status.
SUPERSEDED = "superseded"
ENDING_LEVELS = {**ENDINGS, SUPERSEDED: "WARNING"}
# The robot's start_time claim is an identity, not a time we trust; bounded before storage.
MAX_START_TIME_CHARS = 64

# Why a robot message changed no job (FoldContext.note; the projector counts them).
REPEAT = "job_repeat"
BESIDE_ANNOUNCED = "job_counter_beside_announced_job"
OUTSIDE_JOB = "job_counter_outside_job"
NOT_COUNTED = "scan_not_counted"  # a code the catalogue lacks: the robot does not count it


def _percent(done: int, total: int | None) -> float | None:
    if not total:
        return None
    return min(100.0, done / total * 100.0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _estimate(value: Any, kept: float | None) -> float | None:
    """The robot's estimate of its job's duration (seconds): a positive finite number, else kept."""
    number = _number(value)
    return number if number is not None and number > 0 else kept


def _start_time(payload: kinds.JobV2) -> str | None:
    value = payload.start_time
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)[:MAX_START_TIME_CHARS]


def _names(job: Job | None, start_time: str, task_name: str | None) -> bool:
    """The announced job `job` is the one a message with this start_time and task_name names."""
    return (
        job is not None
        and job.robot_start_time == start_time
        and (task_name is None or job.task_name is None or task_name == job.task_name)
    )


def _counter_overran(job: Job | None) -> bool:
    """A counted job the robot completed by reaching its total: its counter runs on."""
    return (
        job is not None
        and job.robot_start_time is None
        and job.status == "completed"
        and job.items_total is not None
        and job.items_done >= job.items_total
    )


def _restarted(payload: kinds.JobV2, last: Job | None) -> bool:
    """The client's counter went back below the total its job completed at: the client
    restarted. (Not below the job's items_done: a counter message lost on QoS 0 leaves the
    scans' count ahead of the robot's, so the job may be ahead of it.)"""
    return (
        payload.items_done is not None
        and last is not None
        and last.items_total is not None
        and payload.items_done < last.items_total
    )


# --- starting and ending --------------------------------------------------------------


def start_job(
    ctx: FoldContext,
    state: RobotState,
    *,
    items_total: int | None,
    task_name: str | None = None,
    robot_start_time: str | None = None,
) -> RobotState:
    if state.job is not None:
        state = end_job(ctx, state, SUPERSEDED, reason=f"superseded by job {ctx.seq}")
    command_id = None
    if robot_start_time is not None or task_name is not None:  # the robot announced it
        command_id, state = take_dispatch(ctx, state, task_name)
    job = Job(
        id=ctx.seq,
        robot_id=ctx.robot_id,
        start_time=ctx.at,
        created_at=ctx.at,
        updated_at=ctx.at,
        items_total=items_total,
        task_name=task_name,
        robot_start_time=robot_start_time,
        command_id=command_id,
    )
    ctx.wrote_job(job)
    ctx.log(
        "INFO",
        "job",
        f"Job {job.id} started on {ctx.robot_id}",
        without_none(
            {"job_id": job.id, "task_name": task_name, "items_total": items_total, "command_id": command_id}
        ),
    )
    return evolve(state, job=job)


def end_job(ctx: FoldContext, state: RobotState, status: str, reason: str | None = None) -> RobotState:
    """`completed` reads 100 % (the seed's rule); every other ending keeps the real progress."""
    job = state.job
    assert job is not None
    percent = 100.0 if status == "completed" else job.percent_complete
    ended = evolve(
        job,
        status=status,
        end_time=ctx.at,
        updated_at=ctx.at,
        percent_complete=percent,
        reason=reason if reason is not None else job.reason,
    )
    ctx.wrote_job(ended)
    ctx.log(
        ENDING_LEVELS[status],
        "job",
        f"Job {job.id} {status} on {ctx.robot_id}",
        without_none(
            {
                "job_id": job.id,
                "task_name": job.task_name,
                "items_done": job.items_done,
                "items_total": job.items_total,
                "percent_complete": ended.percent_complete,
                "reason": ended.reason,
            }
        ),
    )
    return evolve(state, job=None, last_job=ended)


def _update(ctx: FoldContext, state: RobotState, job: Job) -> RobotState:
    job = evolve(job, updated_at=ctx.at)
    ctx.wrote_job(job)
    if job.is_active:
        return evolve(state, job=job)
    return evolve(state, last_job=job)  # an ended job whose counter runs on


# --- scans ------------------------------------------------------------------------------


def on_scan(ctx: FoldContext, state: RobotState, payload: kinds.ScanV2) -> RobotState:
    """A scan of an item the catalogue knows counts one item (`last_item` = the catalogue's
    item) towards the robot's counted job: the active one, or, if the robot's counter already
    ran past the total of the job it completed, that one. With neither it starts a job of
    10, unless the robot announces its jobs (gen 2), whose items its own reports count.

    A code the catalogue lacks was answered "Item not found", and the robot does not count
    it: it is the counted job's `last_item` ({"qr": ...}) and counts nothing, starts nothing."""
    job = state.job
    if job is not None and job.robot_start_time is not None:
        ctx.note(BESIDE_ANNOUNCED)
        return state
    item = ctx.items.get(payload.qr_data)
    if job is None and _counter_overran(state.last_job):
        job = state.last_job
    if item is None:
        if job is None:
            ctx.note(NOT_COUNTED)
            return state
        assert job is not None
        return _update(ctx, state, evolve(job, last_item={"qr": payload.qr_data}))
    if job is None:
        if state.last_job is not None and state.last_job.robot_start_time is not None:
            ctx.note(OUTSIDE_JOB)
            return state
        state = start_job(ctx, state, items_total=DEFAULT_SCAN_ITEMS_TOTAL)
        job = state.job
    assert job is not None
    done = job.items_done + 1
    percent = _percent(done, job.items_total)
    job = evolve(
        job,
        items_done=done,
        last_item=dict(item),
        percent_complete=job.percent_complete if percent is None else percent,
    )
    return _update(ctx, state, job)


# --- job messages -----------------------------------------------------------------------


def on_job(ctx: FoldContext, state: RobotState, payload: kinds.JobV2) -> RobotState:
    start_time = _start_time(payload)
    if start_time is not None:
        return _on_announced(ctx, state, payload, start_time)
    if payload.status == "started":  # an explicit start without start_time (older gen 2)
        state = start_job(ctx, state, items_total=payload.items_total, task_name=payload.task_name)
        return _apply(ctx, state, payload)
    return _on_counter(ctx, state, payload)


def _on_announced(ctx: FoldContext, state: RobotState, payload: kinds.JobV2, start_time: str) -> RobotState:
    task = payload.task_name
    if _names(state.job, start_time, task):
        if payload.status == "started":  # the announcement again (a QoS 1 redelivery)
            ctx.note(REPEAT)
            return state
        return _apply(ctx, state, payload)
    if _names(state.last_job, start_time, task):
        ctx.note(REPEAT)  # gen 2 re-sends its last job message every 3 s after the job ended
        return state
    active = state.job
    if payload.status != "started" and active is not None and active.robot_start_time is None:
        # The job a scan or counter began is the one the robot now names.
        state = evolve(state, job=evolve(active, robot_start_time=start_time))
    else:
        total = payload.items_total
        state = start_job(ctx, state, items_total=total, task_name=task, robot_start_time=start_time)
    return _apply(ctx, state, payload)


def _on_counter(ctx: FoldContext, state: RobotState, payload: kinds.JobV2) -> RobotState:
    active, last = state.job, state.last_job
    if active is not None and active.robot_start_time is not None:
        ctx.note(BESIDE_ANNOUNCED)
        return state
    if active is None:
        if _counter_overran(last) and not _restarted(payload, last):
            return _apply(ctx, state, payload, job=last)
        if last is not None and last.robot_start_time is not None:
            ctx.note(OUTSIDE_JOB)
            return state
        state = start_job(ctx, state, items_total=payload.items_total)
    return _apply(ctx, state, payload)


def _apply(ctx: FoldContext, state: RobotState, payload: kinds.JobV2, job: Job | None = None) -> RobotState:
    """The message's progress onto `job` (the active job by default); its ending ends it.
    A counter saying `completed` ends an active job even past its total (the robot's job
    ended while we did not see it: a robot first met at 37 of 10); once ended, the counter
    runs on in that job (`_counter_overran`) and never starts another."""
    job = job or state.job
    assert job is not None
    done = payload.items_done if payload.items_done is not None else job.items_done
    total = payload.items_total if payload.items_total is not None else job.items_total
    reported = _number(payload.progress_percent)
    if reported is None:
        reported = _number(payload.percent)
    if reported is not None:
        percent = min(100.0, max(0.0, reported))
    elif payload.items_done is not None or payload.items_total is not None:
        computed = _percent(done, total)
        percent = job.percent_complete if computed is None else computed
    else:
        percent = job.percent_complete
    own_item: JsonObject | None = payload.last_item if isinstance(payload.last_item, dict) else None
    job = evolve(
        job,
        items_done=done,
        items_total=total,
        percent_complete=100.0 if job.status == "completed" else percent,
        task_name=payload.task_name or job.task_name,
        phase=payload.phase or job.phase,
        reason=payload.reason or job.reason,
        last_item=own_item if own_item is not None else job.last_item,
        estimated_duration=_estimate(payload.estimated_duration, job.estimated_duration),
    )
    state = _update(ctx, state, job)
    status = payload.status
    if not job.is_active or status not in ENDINGS:
        return state
    return end_job(ctx, state, status, payload.reason)


JOB_FOLDS = {
    EventType.SCAN: on_scan,
    EventType.JOB: on_job,
}
