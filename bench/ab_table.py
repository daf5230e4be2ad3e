"""The A/B comparison's arithmetic (bench/ab.py): the order the runs go in, the metrics a
benchmark's JSON result lines hold, and the table of medians and ratios. Pure: no process,
no broker, so tests/bench checks it in the fast tier."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Iterator

SIDES = ("A", "B")

# Result fields that repeat what the benchmark was asked to do, not what it measured.
INPUTS = frozenset(
    {"qos", "offered_rate", "offered_msg_s", "publishers", "published", "seconds", "clients", "readers"}
)


def schedule(benches: Iterable[str], rounds: int) -> Iterator[tuple[int, str, str]]:
    """(round, bench, side) in run order: each benchmark's rounds alternate A B A B ..., so
    a drift of the machine's load over time lands on both sides alike."""
    for bench in benches:
        for r in range(1, rounds + 1):
            for side in SIDES:
                yield r, bench, side


def result_lines(stdout: str) -> list[dict]:
    """The JSON objects a benchmark printed, one a line; any other output is for people."""
    out = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def metrics(bench: str, results: list[dict]) -> dict[str, float]:
    """Every measured number, named `bench scenario: key.sub`; inputs and text left out."""
    out: dict[str, float] = {}
    for i, result in enumerate(results):
        scenario = result.get("scenario", str(i))
        for key, value in _leaves(result):
            if key.split(".", 1)[0] not in INPUTS:
                out[f"{bench} {scenario}: {key}"] = value
    return out


def _leaves(value: dict, prefix: str = "") -> Iterator[tuple[str, float]]:
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, dict):
            yield from _leaves(v, name + ".")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            yield name, float(v)


Row = tuple[str, float, float, float | None, int, int]


def table(samples: dict[str, dict[str, list[float]]]) -> list[Row]:
    """samples[side][metric] -> [value per round]: (metric, A median, B median, B/A, A's
    samples, B's samples) for each metric both sides measured, in the order A first
    reported them. B/A is None when A's median is 0."""
    a, b = samples.get("A", {}), samples.get("B", {})
    rows = []
    for metric, a_values in a.items():
        if metric not in b or not a_values or not b[metric]:
            continue
        ma, mb = statistics.median(a_values), statistics.median(b[metric])
        rows.append((metric, ma, mb, mb / ma if ma else None, len(a_values), len(b[metric])))
    return rows


def render(rows: list[Row]) -> str:
    """A markdown table: metric | A median | B median | B/A | samples A/B."""
    lines = ["| metric | A median | B median | B/A | n A/B |", "|---|---:|---:|---:|---:|"]
    for metric, ma, mb, ratio, na, nb in rows:
        shown = "-" if ratio is None else f"{ratio:.2f}"
        lines.append(f"| {metric} | {_num(ma)} | {_num(mb)} | {shown} | {na}/{nb} |")
    return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
