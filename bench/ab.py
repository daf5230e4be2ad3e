"""`make bench`: the benchmarks, today's base (A) against this checkout (B), side by side.

    .venv/bin/python bench/ab.py                       # A = main, every benchmark, 3 rounds
    BENCH_BASE=HEAD~3 BENCH=ingest_throughput,projector_e2e BENCH_ROUNDS=5 make bench
    BENCH_QUICK=1 make bench                           # short rounds: a smoke test

A is a git worktree of BENCH_BASE (default `main`) with its own venv, made once under
.bench/ and reused while the base's commit stays the same. Each benchmark runs in rounds,
A B A B ..., so the machine's load drifting over time lands on both sides alike; the
table is each metric's median per side and B/A. When HEAD is the base, A and B are the
same code: the ratios then show the noise.

Both sides run this checkout's benchmark scripts (the instrument stays the same), each with
its own interpreter: the services they start (`tonypi-ingest`, ... next to sys.executable)
and the libraries they import are that side's. Each script prints a JSON line per scenario
(the figures; cpu_us_per_msg is the CPU each service spent per message); the whole run's
samples go to .bench/ab-<time>.json.

Environment: BENCH_BASE (git ref), BENCH (comma-separated names, default all below),
BENCH_ROUNDS (default 3; 2 quick), BENCH_QUICK=1 (short scenarios), BENCH_ARGS (more
arguments for every benchmark run, e.g. "--qos 1 --rate 2000" with BENCH=ingest_throughput).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_table import metrics, render, result_lines, schedule, table

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"


@dataclass(frozen=True)
class Bench:
    args: tuple[str, ...]
    quick: tuple[str, ...]
    needs: str | None = None  # a program on PATH
    script: str | None = None  # bench/<script>.py; default: the benchmark's name


BENCHES = {
    "ingest_throughput": Bench((), ("--messages", "6000")),
    "projector_replay": Bench((), ("--events", "20000")),
    "projector_e2e": Bench((), ("--duration", "5", "--rate", "1000", "--publishers", "50", "--settle", "60")),
    "registration_storm": Bench(
        ("--scenario", "registration"), ("--robots", "5000", "--settle", "60"), script="projector_e2e"
    ),
    "query_http": Bench((), ("--seconds", "3", "--robots-only"), needs="wrk"),
}


@dataclass(frozen=True)
class Side:
    name: str
    root: Path
    commit: str

    @property
    def python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def base_side(ref: str) -> Side:
    """A worktree of `ref` with an installed venv, made on first use, reused after."""
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    root = CACHE / f"base-{commit[:12]}"
    if not (root / ".venv" / ".installed").exists():
        if not root.exists():
            CACHE.mkdir(exist_ok=True)
            git("worktree", "add", "--detach", str(root), commit)
        print(f"ab: installing {ref} ({commit[:12]}) in {root.relative_to(ROOT)}", flush=True)
        subprocess.run(["make", "install"], cwd=root, check=True)
    return Side("A", root, commit)


def run(side: Side, name: str, bench: Bench, quick: bool, extra: tuple[str, ...]) -> list[dict]:
    command = [str(side.python), str(ROOT / "bench" / f"{bench.script or name}.py"), *bench.args, *extra]
    if quick:
        command += bench.quick
    env = {**os.environ, "PATH": f"{side.python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.Popen(command, cwd=side.root, env=env, stdout=subprocess.PIPE, text=True)
    out = []
    for line in proc.stdout:  # people see the benchmark's own output as it comes
        print(f"  {side.name}| {line}", end="", flush=True)
        out.append(line)
    if proc.wait() != 0:
        print(f"ab: {name} on {side.name} exited {proc.returncode}; its figures are left out", flush=True)
        return []
    return result_lines("".join(out))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args(argv)  # configured by the environment (make bench passes it through)
    chosen = os.environ.get("BENCH")
    names = [n for n in (chosen or ",".join(BENCHES)).split(",") if n]
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"ab: unknown benchmark(s) {unknown}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for n in list(names):
        needs = BENCHES[n].needs
        if needs and shutil.which(needs) is None:
            message = f"ab: bench/{n}.py needs {needs} (apt-get install {needs})"
            if chosen:  # asked for by name: say so and stop
                print(message, file=sys.stderr)
                return 1
            print(f"{message}: left out", flush=True)
            names.remove(n)
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    rounds = int(os.environ.get("BENCH_ROUNDS", "2" if quick else "3"))
    base_ref = os.environ.get("BENCH_BASE", "main")
    sides = {"A": base_side(base_ref), "B": Side("B", ROOT, git("rev-parse", "HEAD"))}
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    print(
        f"ab: A = {base_ref} {sides['A'].commit[:12]}, B = HEAD {sides['B'].commit[:12]}{dirty}; "
        f"{rounds} rounds of {', '.join(names)}{' (quick)' if quick else ''}; {os.cpu_count()} cores",
        flush=True,
    )
    samples: dict[str, dict[str, list[float]]] = {"A": {}, "B": {}}
    more = tuple(shlex.split(os.environ.get("BENCH_ARGS", "")))
    seeded: set[str] = set()
    failed = 0
    for r, name, side in schedule(names, rounds):
        print(f"ab: round {r}/{rounds} {name} {side}", flush=True)
        extra = more
        if name == "query_http" and name in seeded:  # one seeded database serves every run
            extra += ("--skip-seed",)
        results = run(sides[side], name, BENCHES[name], quick, extra)
        if results:
            seeded.add(name)
        else:
            failed += 1
        for metric, value in metrics(name, results).items():
            samples[side].setdefault(metric, []).append(value)
    CACHE.mkdir(exist_ok=True)
    record = CACHE / f"ab-{time.strftime('%Y%m%dT%H%M%S')}.json"
    record.write_text(
        json.dumps({"A": sides["A"].commit, "B": sides["B"].commit, "samples": samples}, indent=1)
    )
    print(f"\n## A/B: A = {base_ref} ({sides['A'].commit[:12]}), B = HEAD ({sides['B'].commit[:12]}{dirty})")
    print(f"{os.cpu_count()} cores; medians of {rounds} alternating rounds; every sample in {record}\n")
    print(render(table(samples)))
    if failed:
        print(f"\nab: {failed} run(s) failed (above); their figures are left out", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
