"""The counters /stats reads, kept by the projector in each batch's own transaction.

`counter_deltas` compares the state of every robot a batch touched before and after it
(pure), and the store adds the deltas to `projection_counters` in the batch transaction,
so the counts move exactly when the rows do and a replay rebuilds them. Names:

robots_total, robots_online        active robots / of them online (projected `online`)
jobs_total, jobs_active            every job / the active ones
jobs_completed:<YYYY-MM-DD>        jobs completed that UTC day (by end_time)
alarms_open:<kind>:<severity>      open alarms
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from tonypi_events.alarms import OPEN

from .folds import RobotState
from .rows import ACTIVE, Alarm, Job, Robot

ROBOTS_TOTAL, ROBOTS_ONLINE, JOBS_TOTAL, JOBS_ACTIVE = (
    "robots_total",
    "robots_online",
    "jobs_total",
    "jobs_active",
)


# The same counts the slow way, from the tables (migration 0006 backfilled with this; the
# tests and the /stats benchmark compare and seed with it). Rows of (name, value).
COUNTED_FROM_TABLES = f"""
SELECT 'robots_total' AS name, count(*) AS value FROM robots WHERE is_active
UNION ALL SELECT 'robots_online', count(*) FROM robots WHERE is_active AND online
UNION ALL SELECT 'jobs_total', count(*) FROM jobs
UNION ALL SELECT 'jobs_active', count(*) FROM jobs WHERE status = 'active'
UNION ALL SELECT 'jobs_completed:' || to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*)
  FROM jobs WHERE status = 'completed' GROUP BY 1
UNION ALL SELECT 'alarms_open:' || kind || ':' || severity, count(*) FROM alarms
  WHERE state = '{OPEN}' GROUP BY 1
"""


def jobs_completed(day: str) -> str:
    return f"jobs_completed:{day}"


def alarms_open(kind: str, severity: str) -> str:
    return f"alarms_open:{kind}:{severity}"


def _robot_counts(robot: Robot | None, sign: int, out: Counter[str]) -> None:
    if robot is not None and robot.is_active:
        out[ROBOTS_TOTAL] += sign
        if robot.online:
            out[ROBOTS_ONLINE] += sign


def _alarm_counts(alarms: Mapping[str, Alarm], sign: int, out: Counter[str]) -> None:
    for alarm in alarms.values():
        out[alarms_open(alarm.kind, alarm.severity)] += sign


def _job_counts(job: Job, sign: int, out: Counter[str]) -> None:
    if job.status == ACTIVE:
        out[JOBS_ACTIVE] += sign
    elif job.status == "completed" and job.end_time is not None:
        out[jobs_completed(job.end_time.date().isoformat())] += sign


def counter_deltas(
    before: Mapping[str, RobotState], after: Mapping[str, RobotState], jobs: Mapping[int, Job]
) -> dict[str, int]:
    """What a batch changed in the counters. `jobs` are the job rows it wrote: a fold writes
    a new job or one its robot's state held (the active job, the last ended one)."""
    out: Counter[str] = Counter()
    for robot_id, new in after.items():
        old = before.get(robot_id)
        if old is new:
            continue
        old_robot = old.robot if old else None
        if old_robot is not new.robot:
            _robot_counts(old_robot, -1, out)
            _robot_counts(new.robot, +1, out)
        old_alarms = old.alarms if old else {}
        if old_alarms is not new.alarms:
            _alarm_counts(old_alarms, -1, out)
            _alarm_counts(new.alarms, +1, out)
    held = {j.id: j for s in before.values() for j in (s.job, s.last_job) if j is not None}
    for job in jobs.values():
        old_job = held.get(job.id)
        if old_job is None:
            out[JOBS_TOTAL] += 1
        else:
            _job_counts(old_job, -1, out)
        _job_counts(job, +1, out)
    return {name: n for name, n in out.items() if n}
