"""The gen-2 simulator's job and servo commands (MQTT.md): `start_job` (task_name,
items_total: the job is announced with `status: "started"` and its start_time), `stop_job`
(the running job is reported `completed` if all its items are done, else `cancelled`) and
`set_servo` (servo_id, position clamped to -90..90). Gen 1 and the gen-2 hardware client
never get here: they answer these "Unknown command" (behaviour.RobotBehaviour)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import fleet

if TYPE_CHECKING:
    from .behaviour import RobotBehaviour


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def job_command(robot: RobotBehaviour, command: dict, now: datetime) -> list[fleet.Message]:
    kind, command_id = command.get("type"), str(command.get("id", ""))

    def answer(message: str, success: bool = True, data: Any = None) -> fleet.Message:
        return fleet.command_response(
            robot.robot, now, command_id, success=success, message=message, data=data
        )

    if kind == "start_job":
        task, total = command.get("task_name"), _int(command.get("items_total"))
        if not isinstance(task, str) or not task or total is None or total < 1:
            return [answer("start_job needs task_name and items_total", success=False)]
        out = []
        job = robot.job
        if job is not None and job.status == "working":  # the robot moves on to the new job
            robot._end_job(job, robot._t, "cancelled")
        out.append(robot._start_job(robot._t, task_name=task, items_total=total))
        return [answer(f"Job started: {task}", data={"start_time": robot.job.start_time}), *out]
    if kind == "stop_job":
        job = robot.job
        if job is None or job.status != "working":
            return [answer("No job running", success=False)]
        robot._end_job(job, robot._t, "completed" if job.items_done >= job.items_total else "cancelled")
        report = robot._job_tick(robot._t)  # the ending at once, then every 3 s as usual
        return [answer(f"Job {job.status}"), *report]
    servo, position = _int(command.get("servo_id")), _number(command.get("position"))
    if servo is None or position is None:
        return [answer("set_servo needs servo_id and position", success=False)]
    low, high = fleet.SERVO_RANGE
    robot.servo_positions[servo] = clamped = min(high, max(low, position))
    return [answer(f"Servo {servo} set to {clamped:g}", data={"servo_id": servo, "position": clamped})]
