"""Explicit upcasters: each turns a payload of version N into version N+1.

Events are immutable in the stream; old versions are upgraded when read, never
rewritten. Each function is pure and takes and returns a plain dict, so unknown
fields pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .actors import ACTOR_UPCASTERS
from .envelope import EventType

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def scan_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    upgraded = {k: v for k, v in payload.items() if k != "qr"}
    upgraded["qr_data"] = payload["qr"]
    upgraded.setdefault("action", "scanned")
    return upgraded


# Gen 1 said "working" for what gen 2 calls "in_progress".
_JOB_V1_STATUS = {"working": "in_progress"}


def job_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    upgraded = {k: v for k, v in payload.items() if k != "percent"}
    if "percent" in payload:
        upgraded["progress_percent"] = payload["percent"]
    status = payload.get("status")
    if status is not None:
        upgraded["status"] = _JOB_V1_STATUS.get(status, status)
    return upgraded


UPCASTERS: dict[tuple[EventType, int], Upcaster] = {
    (EventType.SCAN, 1): scan_v1_to_v2,
    (EventType.JOB, 1): job_v1_to_v2,
    **ACTOR_UPCASTERS,  # the write kinds' actor gains `via` (actors.py)
}
