"""Scans, item replies echoed back, and job progress as each generation reports it."""

from __future__ import annotations

from datetime import datetime

from .messages import Message, Payload, Robot, base, require_gen2, stamp

DEMO_ITEMS = ("QR12345", "QR67890", "QR00001")  # the catalogue ingest ships with
UNKNOWN_ITEM = "QR99999"


def _percent(items_done: int, items_total: int) -> float:
    return round(100.0 * items_done / items_total, 1) if items_total else 0.0


def scan(robot: Robot, now: datetime, qr: str, *, station_name: str = "Station A") -> Message:
    """A QR code scanned: gen 1 `qr`, gen 2 `qr_data` with station and action."""
    payload = base(robot, now)
    if robot.generation == 1:
        payload["qr"] = qr
    else:
        payload.update(qr_data=qr, station_name=station_name, action="scanned")
    return Message(f"tonypi/scan/{robot.robot_id}", payload)


def job_progress(
    robot: Robot,
    now: datetime,
    *,
    items_done: int,
    items_total: int,
    task_name: str = "Transport",
    started: bool = False,
    elapsed_s: float = 0.0,
    estimated_s: float = 120.0,
) -> Message:
    """Job progress. Gen 1: percent and working/completed. Gen 2: task_name and
    started/in_progress/completed, with phase and timings."""
    percent = _percent(items_done, items_total)
    done = items_total > 0 and items_done >= items_total
    payload = base(robot, now)
    if robot.generation == 1:
        payload.update(
            percent=percent,
            status="completed" if done else "working",
            items_done=items_done,
            items_total=items_total,
        )
    else:
        state = "completed" if done else ("started" if started else "in_progress")
        payload.update(
            task_name=task_name,
            status=state,
            phase="delivering" if done else ("planning" if started else "collecting"),
            elapsed_time=round(elapsed_s, 1),
            estimated_duration=round(estimated_s, 1),
            items_done=items_done,
            items_total=items_total,
            progress_percent=percent,
        )
        if done:
            payload["success"] = True
    return Message(f"tonypi/job/{robot.robot_id}", payload)


def item_counter_progress(robot: Robot, now: datetime, *, items_done: int, items_total: int = 10) -> Message:
    """What both generations' client publishes after each found item reply: its own item
    counter, which never resets (past the total: 11, 12, ... and percent 110, 120)."""
    payload = {
        **base(robot, now),
        "percent": _percent(items_done, items_total),
        "status": "completed" if items_done >= items_total else "working",
        "items_done": items_done,
        "items_total": items_total,
    }
    return Message(f"tonypi/job/{robot.robot_id}", payload)


def item_echo(robot: Robot, now: datetime, reply: Payload) -> Message:
    """What both generations' client publishes on tonypi/commands/response after each item
    reply: an echo of it, with no command id."""
    found = reply.get("found") is True
    payload = {
        **base(robot, now),
        "success": found,
        "item": reply.get("item") if found else None,
        "message": reply.get("message") or "Item info",
    }
    return Message("tonypi/commands/response", payload)


def gen2_job_started(
    robot: Robot, now: datetime, *, task_name: str, start_time: str, items_total: int
) -> Message:
    """The gen-2 client's announcement of a job it starts."""
    require_gen2(robot, "job announcements")
    payload = {
        **base(robot, now),
        "status": "started",
        "task_name": task_name,
        "start_time": start_time,
        "items_total": items_total,
        "items_done": 0,
        "percent": 0.0,
        "phase": "scanning",
    }
    return Message(f"tonypi/job/{robot.robot_id}", payload)


def gen2_job_report(
    robot: Robot,
    now: datetime,
    *,
    status: str,
    start_time: str,
    items_done: int,
    items_total: int,
    elapsed_s: float,
    estimated_s: float,
    history: list[Payload],
) -> Message:
    """The gen-2 client's job report, every 3 s: `working` while the job runs, and after it
    ended the same message with its ending (`completed` or `cancelled`), a new `end_time`
    and `timestamp` each time, until the next job starts."""
    require_gen2(robot, "job reports")
    ended = status != "working"
    payload = {
        **base(robot, now),
        "start_time": start_time,
        "end_time": stamp(now) if ended else None,
        "items_total": items_total,
        "items_done": items_done,
        "percent": _percent(items_done, items_total),
        "status": status,
        "last_item": history[-1] if history else None,
        "history": list(history),
        "elapsed_time": round(elapsed_s, 1),
        "estimated_duration": round(estimated_s, 1),
    }
    if ended:
        payload["success"] = status == "completed"
    return Message(f"tonypi/job/{robot.robot_id}", payload)
