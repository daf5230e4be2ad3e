"""Query service benchmark: one `tonypi-query` process over a production-size database,
loaded by `wrk` (C, one thread, so the load generator takes little of the 2 cores).

    .venv/bin/python bench/query_http.py                  # seed (about 1 min), then run
    .venv/bin/python bench/query_http.py --skip-seed      # reuse the seeded database
    .venv/bin/python bench/query_http.py --skip-seed --robots-only --baseline-src /tmp/base
        # the robot-by-id runs against another checkout's query service (say main before a
        # change), for a back-to-back comparison on the same machine

Every request carries a viewer token (made in the database as the projector's fold would),
so the token check is part of what is measured (docs/query.md, "Authentication").

Targets (docs/query.md): GET /api/robots-db/robots/{id} >= 2,000 req/s with p99 <= 20 ms;
/logs with filters p99 <= 50 ms at any page depth. Needs `wrk` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter, postgres_backends
from query_seed import ROBOTS, seed
from query_server import TOKEN, grant_bench_token, query_env, row, running_query, wrk
from tonypi_query.pagination import encode_cursor

BIN = Path(sys.executable).parent
API = "/api/robots-db"
DEPTHS = (0, 1_000, 10_000, 100_000, 400_000)

NOW = datetime.now(UTC)
DAY_AGO_10, DAY_AGO_9 = NOW - timedelta(days=10), NOW - timedelta(days=9)
# name -> (query parameters, the same filter in SQL for finding deep cursors)
LOG_FILTERS: dict[str, tuple[dict[str, str], str, tuple]] = {
    "no filter": ({}, "TRUE", ()),
    "level=ERROR": ({"level": "error"}, "level = $1", ("ERROR",)),
    "category=status": ({"category": "status"}, "category = $1", ("status",)),
    "robot_id": ({"robot_id": "robot_7"}, "robot_id = $1", ("robot_7",)),
    "level+category": (
        {"level": "WARNING", "category": "job"},
        "level = $1 AND category = $2",
        ("WARNING", "job"),
    ),
    "q=servo": ({"q": "servo"}, "message ILIKE $1", ("%servo%",)),
    "since+until (1 day)": (
        {"since": DAY_AGO_10.isoformat(), "until": DAY_AGO_9.isoformat()},
        "timestamp >= $1 AND timestamp < $2",
        (DAY_AGO_10, DAY_AGO_9),
    ),
    "empty pair (api+ERROR)": (
        {"category": "api", "level": "ERROR"},
        "category = $1 AND level = $2",
        ("api", "ERROR"),
    ),
    "rare q": ({"q": "#777777"}, "message ILIKE $1", ("%#777777%",)),
}


async def database_backends(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return await postgres_backends(conn, url.rsplit("/", 1)[1])
    finally:
        await conn.close()


def measured_wrk(name: str, server, database_url: str, *wrk_args) -> dict:
    """wrk(*wrk_args) with the CPU per request of the query process and its database
    backends; prints the result as a JSON line (bench/ab.py reads them)."""
    meter = CpuMeter({"query": server.pid, "postgres": asyncio.run(database_backends(database_url))})
    meter.start()
    r = wrk(*wrk_args)
    seconds = wrk_args[2]
    cpu = meter.stop(round(r["rps"] * seconds))
    cpu["cpu_us_per_req"] = cpu.pop("cpu_us_per_msg")
    r = {**r, **cpu}
    print(json.dumps({"scenario": name, **r}), flush=True)
    return r


async def log_paths(url: str) -> dict[str, dict[int, str]]:
    """For each filter, the path of the page starting at each depth (cursor = the row before)."""
    conn = await asyncpg.connect(url)
    paths: dict[str, dict[int, str]] = {}
    try:
        for name, (params, where, args) in LOG_FILTERS.items():
            paths[name] = {}
            for depth in DEPTHS:
                query = {**params, "limit": "100"}
                if depth:
                    offset = f"${len(args) + 1}"
                    row = await conn.fetchrow(
                        f"SELECT timestamp, id FROM system_logs WHERE {where} "  # constant templates above
                        f"ORDER BY timestamp DESC, id DESC OFFSET {offset} LIMIT 1",
                        *args,
                        depth - 1,
                    )
                    if row is None:
                        continue
                    query["before"] = encode_cursor(row["timestamp"], row["id"])
                paths[name][depth] = f"{API}/logs?{urlencode(query)}"
    finally:
        await conn.close()
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/tonypi_bench_query")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--seconds", type=int, default=15, help="per robot-by-id run")
    parser.add_argument("--log-seconds", type=int, default=6, help="per /logs run")
    parser.add_argument("--port", type=int, default=18_080)
    parser.add_argument("--robots-only", action="store_true", help="only the robot-by-id runs")
    parser.add_argument(
        "--no-token",
        action="store_true",
        help="API_READS=open and no Authorization header: what the token check costs, by difference",
    )
    parser.add_argument(
        "--baseline-src", type=Path, help="run the query service of this checkout (its services/query, libs)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    if not args.skip_seed:
        print("seeding:", asyncio.run(seed(args.database_url)), flush=True)
    asyncio.run(grant_bench_token(args.database_url))

    env = query_env(args.database_url, args.port)
    token = TOKEN
    if args.no_token:
        env["API_READS"], token = "open", ""
    base = f"http://127.0.0.1:{args.port}"
    command = [str(BIN / "tonypi-query")]
    if args.baseline_src:  # its packages ahead of this venv's editable installs
        src = args.baseline_src.resolve()
        env["PYTHONPATH"] = os.pathsep.join(
            str(src / part) for part in ("services/query", "libs/events", "libs/runtime")
        )
        command = [sys.executable, "-m", "tonypi_query"]
    results: list[str] = []
    with running_query(command, env, base) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        robot_paths = [f"{API}/robots/robot_{i}" for i in range(1, ROBOTS + 1)]
        wrk(base, robot_paths, 3, 32, work, token)  # warm-up: pool connections, prepared statements
        results.append("| GET /robots/{id}, 1,000 ids at random | req/s | p50 ms | p99 ms |")
        results.append("|---|---|---|---|")
        for conns in (8, 16, 32, 64):
            name = f"robot by id, {conns} connections"
            measured = measured_wrk(
                name, server, args.database_url, base, robot_paths, args.seconds, conns, work, token
            )
            results.append(row(name, measured))
        print("\n".join(results), flush=True)
        if args.robots_only:
            return 0

        paths = asyncio.run(log_paths(args.database_url))
        results += [
            "",
            "| /logs, limit 100, 8 connections | req/s | p50 ms | p99 ms |",
            "|---|---|---|---|",
        ]
        for name, by_depth in paths.items():
            r = wrk(base, list(by_depth.values()), args.log_seconds, 8, work, token)
            results.append(row(f"{name} (depths {', '.join(f'{d:,}' for d in by_depth)})", r))
            print(results[-1], flush=True)
        for depth in DEPTHS:
            at_depth = [p[depth] for p in paths.values() if depth in p]
            r = wrk(base, at_depth, args.log_seconds, 8, work, token)
            results.append(row(f"every filter at depth {depth:,}", r))
            print(results[-1], flush=True)
        results += ["", "| other reads, 8 connections | req/s | p50 ms | p99 ms |", "|---|---|---|---|"]
        for name, path in (
            ("GET /robots (all 1,000)", f"{API}/robots"),
            ("GET /stats", f"{API}/stats"),
            ("GET /jobs/history?status=failed", f"{API}/jobs/history?status=failed"),
            ("GET /robots/{id}/telemetry", f"{API}/robots/robot_5/telemetry"),
        ):
            r = measured_wrk(name, server, args.database_url, base, [path], args.log_seconds, 8, work, token)
            results.append(row(name, r))
            print(results[-1], flush=True)
    print(f"\n## {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, one query process\n")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
