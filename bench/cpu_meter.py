"""CPU per message, per service: utime + stime of each process (from /proc/<pid>/stat) before
and after the measured window, divided by the messages the window handled.

A name may stand for several processes (PostgreSQL's backends serving a benchmark's
database): their CPU is summed. A process gone before the window ends counts nothing (its
last reading went with it)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def machine_cpu_seconds() -> float:
    """CPU time all processes on the machine used so far (every core), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / TICKS


async def postgres_backends(conn, database: str) -> list[int]:
    """The pids of the PostgreSQL backends connected to `database` (not `conn`'s own)."""
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database
    )
    return [r["pid"] for r in rows]


class CpuMeter:
    """meter = CpuMeter({"ingest": pid, "postgres": [pid, ...]}); meter.start(); ...;
    meter.stop(messages) -> {"cpu_pct_of_one_core": {...}, "cpu_us_per_msg": {...}}."""

    def __init__(self, pids: dict[str, int | list[int]]) -> None:
        self.pids = {name: [p] if isinstance(p, int) else list(p) for name, p in pids.items()}
        self._before: dict[int, float] = {}
        self._t0 = self._box0 = 0.0

    def start(self) -> None:
        self._before = {pid: self._read(pid, 0.0) for pids in self.pids.values() for pid in pids}
        self._t0, self._box0 = time.monotonic(), machine_cpu_seconds()

    def stop(self, messages: int) -> dict[str, dict[str, float]]:
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        box = machine_cpu_seconds() - self._box0
        used = {
            name: sum(self._read(pid, self._before[pid]) - self._before[pid] for pid in pids)
            for name, pids in self.pids.items()
        }
        # The box is shared: what everything else used meanwhile says how noisy the figures are.
        used_else = max(0.0, box - sum(used.values()))
        return {
            "cpu_pct_of_one_core": {
                **{k: round(100 * v / elapsed) for k, v in used.items()},
                "everything else": round(100 * used_else / elapsed),
            },
            "cpu_us_per_msg": {k: round(1e6 * v / messages, 1) if messages else 0.0 for k, v in used.items()},
        }

    @staticmethod
    def _read(pid: int, default: float) -> float:
        with contextlib.suppress(OSError, IndexError, ValueError):
            return cpu_seconds(pid)
        return default
