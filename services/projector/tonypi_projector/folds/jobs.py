"""Folds onto the jobs table: the seed's job semantics (MQTT.md), both generations.

At most one active job per robot: `RobotState.job`. Scans and job events start it
when none is active; starting one while another is active completes the old one first.
"""

from __future__ import annotations

from tonypi_events import EventType, kinds

from ..rows import Job, evolve
from .context import FoldContext, RobotState, without_none

DEFAULT_SCAN_ITEMS_TOTAL = 10
ENDINGS = {"completed": "INFO", "cancelled": "WARNING", "failed": "ERROR"}


def _percent(done: int, total: int | None) -> float | None:
    if not total:
        return None
    return min(100.0, done / total * 100.0)


def start_job(
    ctx: FoldContext, state: RobotState, *, items_total: int | None, task_name: str | None = None
) -> RobotState:
    if state.job is not None:
        state = end_job(ctx, state, "completed")
    job = Job(
        id=ctx.seq,
        robot_id=ctx.robot_id,
        start_time=ctx.at,
        created_at=ctx.at,
        updated_at=ctx.at,
        items_total=items_total,
        task_name=task_name,
    )
    ctx.wrote_job(job)
    ctx.log(
        "INFO",
        "job",
        f"Job {job.id} started on {ctx.robot_id}",
        without_none({"job_id": job.id, "task_name": task_name, "items_total": items_total}),
    )
    return evolve(state, job=job)


def end_job(ctx: FoldContext, state: RobotState, status: str, reason: str | None = None) -> RobotState:
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
        ENDINGS[status],
        "job",
        f"Job {job.id} {status} on {ctx.robot_id}",
        without_none(
            {
                "job_id": job.id,
                "task_name": job.task_name,
                "items_done": job.items_done,
                "items_total": job.items_total,
                "reason": ended.reason,
            }
        ),
    )
    return evolve(state, job=None)


def _update(ctx: FoldContext, state: RobotState, job: Job) -> RobotState:
    job = evolve(job, updated_at=ctx.at)
    ctx.wrote_job(job)
    return evolve(state, job=job)


def on_scan(ctx: FoldContext, state: RobotState, payload: kinds.ScanV2) -> RobotState:
    """A scan advances the active job by one item (starting one of 10 if none is active).
    last_item is the catalogue's item, or {"qr": ...} for a code the catalogue lacks."""
    if state.job is None:
        state = start_job(ctx, state, items_total=DEFAULT_SCAN_ITEMS_TOTAL)
    job = state.job
    assert job is not None
    item = ctx.items.get(payload.qr_data)
    last_item = dict(item) if item is not None else {"qr": payload.qr_data}
    done = job.items_done + 1
    percent = _percent(done, job.items_total)
    job = evolve(
        job,
        items_done=done,
        last_item=last_item,
        percent_complete=job.percent_complete if percent is None else percent,
    )
    return _update(ctx, state, job)


def on_job(ctx: FoldContext, state: RobotState, payload: kinds.JobV2) -> RobotState:
    """Job progress (gen 1 upcast to gen 2): `started` opens a job, an ending closes it, and
    anything else updates the active job, opening one if none is active."""
    status = payload.status
    if status == "started" or state.job is None:
        state = start_job(ctx, state, items_total=payload.items_total, task_name=payload.task_name)
    job = state.job
    assert job is not None
    done = payload.items_done if payload.items_done is not None else job.items_done
    total = payload.items_total if payload.items_total is not None else job.items_total
    if payload.progress_percent is not None:
        percent = min(100.0, max(0.0, float(payload.progress_percent)))
    elif payload.items_done is not None or payload.items_total is not None:
        computed = _percent(done, total)
        percent = job.percent_complete if computed is None else computed
    else:
        percent = job.percent_complete
    job = evolve(
        job,
        items_done=done,
        items_total=total,
        percent_complete=percent,
        task_name=payload.task_name or job.task_name,
        phase=payload.phase or job.phase,
        reason=payload.reason or job.reason,
    )
    state = _update(ctx, state, job)
    if status in ENDINGS:
        state = end_job(ctx, state, status, payload.reason)
    return state


JOB_FOLDS = {
    EventType.SCAN: on_scan,
    EventType.JOB: on_job,
}
