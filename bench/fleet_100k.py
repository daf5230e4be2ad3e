"""Issue 18 at 100,000 robots: pages of /robots, /stats and /readyz under 20 concurrent
readers, each service's memory, and the offline storm (every robot silent at once).

    .venv/bin/python bench/fleet_100k.py            # seed (about 40 s), then measure
    .venv/bin/python bench/fleet_100k.py --skip-seed

Seeds `tonypi_bench_stats` as bench/query_stats.py does (100,000 robots, 90 % online).
1. One `tonypi-query` process; 20 asyncio readers for `--seconds`, each request picked at
   random: a /robots page (default size 100) starting at a random robot id, /robots with a
   filter, /stats, /readyz. p50/p99 per kind, /readyz answers that were not 200, the
   process's RSS.
2. The storm: every active robot's last_seen set an hour back, online; one `tonypi-projector`
   started with its clock (1 s period, 90 s timeout): its first tick finds them all silent.
   Measured: time until every offline alarm is open and the checkpoint has passed the
   tick (lag 0), the tick's slices (PROJECTOR_TICK_SLICE), the batch histogram, the
   projector's RSS; then the same storm again, SIGTERM once its first slice is committed,
   and the time the projector takes to exit.
Targets: a page's p99 within 50 ms, /readyz never 503, no batch over 2 s, lag 0 within 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import asyncpg
import nats
import psutil
from tonypi_events import ensure_streams
from tonypi_runtime.connections import stream_names

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter
from query_server import TOKEN, delete_streams, grant_bench_token, query_env, running_query, wrk
from query_stats import ROBOTS, seed
from tonypi_projector.migrations import apply_migrations

BIN = Path(sys.executable).parent
API = "/api/robots-db"


def _cursor(robot_id: str) -> str:
    return base64.urlsafe_b64encode(robot_id.encode()).rstrip(b"=").decode()


def _paths(kind: str, n: int = 2000) -> list[str]:
    """What `kind` asks (a robots page: `n` random starts)."""
    if kind == "robots page":
        return [f"{API}/robots?after={_cursor(f'robot_{random.randint(1, ROBOTS)}')}" for _ in range(n)]
    if kind == "robots filtered":
        return [
            f"{API}/robots?online=false",
            f"{API}/robots?prefix=robot_777",
            f"{API}/robots?status=offline",
        ]
    return [f"{API}/stats"] if kind == "stats" else ["/readyz"]


# The readers' mix: 55 % pages, 15 % each of the rest (wrk: as connections; Python: as odds).
_SHARES = {"robots page": 0.55, "robots filtered": 0.15, "stats": 0.15, "readyz": 0.15}


def _pick() -> tuple[str, str]:
    kind = random.choices(list(_SHARES), weights=list(_SHARES.values()))[0]
    return kind, random.choice(_paths(kind, 1))


def wrk_readers(base: str, seconds: float, concurrency: int) -> dict[str, dict]:
    """The same mix from wrk (C): one wrk per kind, `concurrency` connections in all, so the
    load generator takes little of the two cores the service and PostgreSQL need."""
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(len(_SHARES)) as pool:
        futures = {}
        for n, (kind, share) in enumerate(_SHARES.items()):
            workdir = Path(tmp) / str(n)
            workdir.mkdir()
            connections = max(1, round(concurrency * share))
            futures[kind] = pool.submit(wrk, base, _paths(kind), int(seconds), connections, workdir)
        return {kind: future.result() for kind, future in futures.items()}


def report_wrk(found: dict[str, dict]) -> None:
    print("| request (wrk) | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|")
    for kind, r in found.items():
        print(f"| {kind} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['non_2xx']} |")


async def readers(base: str, seconds: float, concurrency: int, rate: float = 0) -> dict[str, list]:
    """`concurrency` readers back to back; with `rate` (requests/s in all), each reader starts
    its requests on a schedule instead (a late one starts at once: the wait is measured)."""
    found: dict[str, list] = {}
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(base, headers=headers) as session:

        async def reader(n: int) -> None:
            interval = concurrency / rate if rate else 0
            due = time.monotonic() + interval * n / concurrency
            while time.monotonic() < deadline:
                started = time.perf_counter()
                if interval:
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    late = max(0.0, time.monotonic() - due)  # counted: no coordinated omission
                    started, due = time.perf_counter() - late, due + interval
                kind, path = _pick()
                async with session.get(path) as resp:
                    await resp.read()
                found.setdefault(kind, []).append((time.perf_counter() - started, resp.status))

        await asyncio.gather(*[reader(n) for n in range(concurrency)])
    return found


def _postgres_pids() -> list[int]:
    """Every PostgreSQL process (the query's pool and the server's own workers)."""
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in ("postgres", "postmaster")]


def report(found: dict[str, list]) -> None:
    print("| request | n | p50 ms | p99 ms | statuses |")
    print("|---|---|---|---|---|")
    for kind, samples in sorted(found.items()):
        times = sorted(t for t, _ in samples)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        statuses = sorted({s for _, s in samples})
        print(
            f"| {kind} | {len(times)} | {statistics.median(times) * 1000:.1f} | {p99 * 1000:.1f} "
            f"| {statuses} |"
        )


async def _fresh_streams(env: dict[str, str]) -> None:
    """Delete the storm's streams and declare them again, empty (as an admin does first)."""
    await delete_streams(env)
    nc = await nats.connect(env.get("NATS_URL", "nats://127.0.0.1:4222"))
    try:
        await ensure_streams(nc.jetstream(), stream_names(env))
    finally:
        await nc.close()


async def _reset_storm(conn: asyncpg.Connection, env: dict[str, str]) -> int:
    """Every active robot online and last heard an hour ago, no alarm, fresh streams: the
    projector's first tick finds them all silent. Returns how many."""
    await _fresh_streams(env)
    await apply_migrations(conn)  # the tick-progress columns, before they are cleared
    await conn.execute("DELETE FROM alarms; DELETE FROM alarm_transitions; DELETE FROM live_feed")
    await conn.execute("DELETE FROM system_logs WHERE category = 'status'")
    await conn.execute(
        "UPDATE robots SET online = is_active, last_seen = now() - interval '1 hour' WHERE is_active"
    )
    await conn.execute(
        "UPDATE projection_checkpoint SET last_seq = 0, stream = $1, tick_seq = NULL, tick_after = NULL, "
        "tick_next_id = NULL",
        env["EVENTS_STREAM"],
    )
    await conn.execute("DELETE FROM projection_counters WHERE name LIKE 'alarms_open:%'")
    await conn.execute(
        "UPDATE projection_counters SET value = (SELECT count(*) FROM robots WHERE is_active) "
        "WHERE name = 'robots_online'"
    )
    return await conn.fetchval("SELECT count(*) FROM robots WHERE online")


async def _metrics(port: str) -> str:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        return await r.text()


def _stop(projector: subprocess.Popen) -> float:
    started = time.monotonic()
    projector.terminate()
    try:
        projector.wait(30)
    except subprocess.TimeoutExpired:  # busy folding: never leave it running
        projector.kill()
        projector.wait()
        return float("inf")
    return time.monotonic() - started


async def storm(url: str, env: dict[str, str]) -> None:
    conn = await asyncpg.connect(url)
    try:
        silent = await _reset_storm(conn, env)
        port = env["PROJECTOR_PORT"]
        projector = subprocess.Popen([str(BIN / "tonypi-projector")], env=env)
        started = time.monotonic()
        try:
            raised = lag_zero = None
            text = ""
            while time.monotonic() - started < 180:
                await asyncio.sleep(0.2)
                open_now = await conn.fetchval(
                    "SELECT count(*) FROM alarms WHERE kind = 'offline' AND state = 'open'"
                )
                if raised is None and open_now >= silent:
                    raised = time.monotonic() - started
                if raised is not None:
                    text = await _metrics(port)
                    lag = [
                        line for line in text.splitlines() if line.startswith("tonypi_projector_lag_events ")
                    ]
                    if lag and float(lag[0].split()[1]) == 0:
                        lag_zero = time.monotonic() - started
                        break
            proc = psutil.Process(projector.pid)
            rss = proc.memory_info().rss / 2**20
            cpu = sum(proc.cpu_times()[:2])  # user + system: the box's load does not inflate it
        finally:
            _stop(projector)
        buckets = {}
        for line in text.splitlines():
            if line.startswith("tonypi_projector_batch_apply_seconds_bucket"):
                buckets[line.split('le="')[1].split('"')[0]] = float(line.split()[-1])
        total = buckets.get("+Inf", 0)
        largest = next((le for le, n in buckets.items() if n == total), "?")
        slices = next(
            (
                line.split()[-1]
                for line in text.splitlines()
                if line.startswith("tonypi_projector_tick_slices_total")
            ),
            "?",
        )
        print(
            f"\nstorm: {silent:,} robots silent; every offline alarm open after {raised} s "
            f"(projector start, incl. its first tick; None: not within 180 s); lag 0 after {lag_zero} s; "
            f"{slices} tick slices; every batch within {largest} s; projector RSS {rss:.0f} MiB, "
            f"CPU {cpu:.1f} s (user + system, start-up included)"
        )
        print(
            "batch apply seconds (cumulative buckets):",
            "; ".join(f"le={k}: {v:g}" for k, v in buckets.items()),
        )

        # SIGTERM part-way through the storm: the time to exit.
        await _reset_storm(conn, env)
        projector = subprocess.Popen([str(BIN / "tonypi-projector")], env=env)
        try:
            while not await conn.fetchval("SELECT tick_seq FROM projection_checkpoint"):
                await asyncio.sleep(0.05)
        finally:
            took = _stop(projector)
        done = await conn.fetchval("SELECT count(*) FROM alarms WHERE kind = 'offline'")
        print(f"SIGTERM part-way through the storm ({done:,} of {silent:,} alarms): exited in {took:.2f} s")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/tonypi_bench_stats")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--storm-only", action="store_true", help="only the offline storm (seeded already)")
    parser.add_argument(
        "--rate", type=float, default=0, help="with --load python: requests/s in all, on a schedule"
    )
    parser.add_argument("--readers-only", action="store_true", help="only the readers, no storm")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--port", type=int, default=18_082)
    parser.add_argument(
        "--load",
        choices=["wrk", "python"],
        default="wrk" if shutil.which("wrk") else "python",
        help="the readers: wrk (C; the default where installed) or 20 asyncio readers in this process",
    )
    args = parser.parse_args()
    if not args.skip_seed:
        print(f"seeded in {asyncio.run(seed(args.database_url)):.1f}s", flush=True)
    asyncio.run(grant_bench_token(args.database_url))
    if args.storm_only:
        return _storm(args)
    env = query_env(args.database_url, args.port)
    asyncio.run(_fresh_streams(env))  # declared, as an admin does first: else /readyz is 503
    base = f"http://127.0.0.1:{args.port}"
    with running_query([str(BIN / "tonypi-query")], env, base):
        query_pid = next(
            p.pid for p in psutil.Process().children() if "tonypi-query" in " ".join(p.cmdline())
        )
        asyncio.run(readers(base, 3, args.readers))  # warm-up
        meter = CpuMeter({"query": query_pid, "load generator": os.getpid(), "postgres": _postgres_pids()})
        meter.start()
        if args.load == "wrk":
            found = wrk_readers(base, args.seconds, args.readers)
            requests = sum(r["rps"] for r in found.values()) * args.seconds
        else:
            found = asyncio.run(readers(base, args.seconds, args.readers, args.rate))
            requests = sum(len(v) for v in found.values())
        cpu = meter.stop(int(requests))
        rss = psutil.Process(query_pid).memory_info().rss / 2**20
    offered = f", {args.rate:g} req/s offered" if args.rate and args.load == "python" else ""
    print(
        f"\n{ROBOTS:,} robots, {args.readers} concurrent readers ({args.load}{offered}), {args.seconds:g} s, "
        f"{os.cpu_count()} cores"
    )
    (report_wrk if args.load == "wrk" else report)(found)
    print(f"query RSS after the run: {rss:.0f} MiB")
    print("CPU per request, µs:", cpu["cpu_us_per_msg"], "; % of one core:", cpu["cpu_pct_of_one_core"])
    if args.readers_only:
        return 0
    return _storm(args)


def _storm(args: argparse.Namespace) -> int:
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the storm's start")
    storm_env = {
        **query_env(args.database_url, args.port),
        "PROJECTOR_PORT": str(args.port + 1),
        "CLOCK_TICK_PERIOD": "1",
        "ONLINE_TIMEOUT": "90",
    }
    try:
        asyncio.run(storm(args.database_url, storm_env))
    finally:
        asyncio.run(delete_streams(storm_env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
