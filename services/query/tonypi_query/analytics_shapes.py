"""Shaping the analytics tables' sums into the API's rows (docs/analytics.md): pure."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

US = 1_000_000
ENDINGS = ("completed", "failed", "cancelled", "superseded")
TOP_REASONS = 10
DURATION, VS_ESTIMATE = "duration_s", "vs_estimate"


def quantile(histogram: Mapping[float, int], q: float) -> float | None:
    """The upper bound of the bucket where the q-quantile falls (an upper estimate, never
    below the true value); in the open last bucket, the largest finite bound (a lower one).
    None without counts."""
    n = sum(histogram.values())
    if n <= 0:
        return None
    rank, seen = q * n, 0
    finite = [le for le in histogram if math.isfinite(le)]
    for le in sorted(histogram):
        seen += histogram[le]
        if seen >= rank:
            return le if math.isfinite(le) else (max(finite) if finite else None)
    return None


def utilization_row(row: Mapping[str, Any]) -> dict[str, Any]:
    online, busy = row["online_us"], row["busy_us"]
    return {
        "day": row["day"],
        "robot_id": row["robot_id"],
        "online_s": online / US,
        "busy_s": busy / US,
        "utilization": busy / online if online else None,
    }


def outcome_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of (day, robot_id, status, reason, jobs) in (day, robot_id) order, one object per
    (day, robot_id) with a count per ending and its most frequent reasons."""
    out: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        key = (r["day"], r["robot_id"])
        group = out.get(key)
        if group is None:
            group = out[key] = {"day": r["day"], "robot_id": r["robot_id"], **dict.fromkeys(ENDINGS, 0)}
            group["reasons"] = []
        if r["status"] in ENDINGS:
            group[r["status"]] += r["jobs"]
        if r["reason"]:
            group["reasons"].append({"status": r["status"], "reason": r["reason"], "jobs": r["jobs"]})
    for group in out.values():
        group["reasons"].sort(key=lambda x: (-x["jobs"], x["status"], x["reason"]))
        del group["reasons"][TOP_REASONS:]
    return list(out.values())


def performance_rows(
    sums: Iterable[Mapping[str, Any]], buckets: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    histograms: dict[tuple, dict[str, dict[float, int]]] = {}
    for b in buckets:
        per = histograms.setdefault((b["day"], b["robot_id"]), {DURATION: {}, VS_ESTIMATE: {}})
        if b["measure"] in per:
            per[b["measure"]][b["le"]] = per[b["measure"]].get(b["le"], 0) + b["jobs"]
    out = []
    for s in sums:
        per = histograms.get((s["day"], s["robot_id"]), {DURATION: {}, VS_ESTIMATE: {}})
        jobs, items, us = s["jobs"], s["items"], s["duration_us"]
        out.append(
            {
                "day": s["day"],
                "robot_id": s["robot_id"],
                "jobs": jobs,
                "items": items,
                "items_per_hour": items / (us / US / 3600) if us > 0 else None,
                "mean_duration_s": us / US / jobs if jobs else None,
                "duration_p50_s": quantile(per[DURATION], 0.5),
                "duration_p95_s": quantile(per[DURATION], 0.95),
                "estimated_jobs": sum(per[VS_ESTIMATE].values()),
                "vs_estimate_p50": quantile(per[VS_ESTIMATE], 0.5),
                "vs_estimate_p95": quantile(per[VS_ESTIMATE], 0.95),
            }
        )
    return out
