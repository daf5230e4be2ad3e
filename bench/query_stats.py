"""/stats at fleet scale: one `tonypi-query` process over 100,000 robots, loaded by `wrk`.

    .venv/bin/python bench/query_stats.py                         # seed, then 16 connections
    .venv/bin/python bench/query_stats.py --skip-seed --query-bin /other/venv/bin/tonypi-query

Seeds `tonypi_bench_stats` in SQL (generate_series, migrations applied first): 100,000
robots (90 % online), 200,000 jobs (one active per robot for half the fleet), 5,000 open
alarms, and the projector's counters computed from those tables as the projector would
have kept them. `--query-bin` runs another build of the query service against the same
database (the baseline: a checkout that still counts the tables per request).
Target (issue 12): >= 2,000 req/s with 100,000 robots.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import Request, urlopen

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from databases import recreate_database
from query_server import TOKEN, grant_bench_token, query_env, row, running_query, wrk
from tonypi_projector.counters import COUNTED_FROM_TABLES
from tonypi_projector.migrations import apply_migrations

BIN = Path(sys.executable).parent
ROBOTS, JOBS, ALARMS = 100_000, 200_000, 5_000

SEED_SQL = f"""
INSERT INTO robots (id, robot_id, name, status, last_seen, created_at, updated_at, is_active, online,
                    telemetry)
SELECT i, 'robot_' || i, 'Robot ' || i, CASE WHEN i % 10 = 0 THEN 'offline' ELSE 'online' END,
       now() - make_interval(secs => (i % 60)), now() - interval '60 days', now(), i % 50 <> 0,
       i % 10 <> 0,
       jsonb_build_object('battery', jsonb_build_object('percentage', i % 100, 'received_at', now()))
FROM generate_series(1, $1::int) AS i;

INSERT INTO jobs (id, robot_id, start_time, end_time, items_total, items_done, percent_complete,
                  status, created_at, updated_at)
SELECT i, 'robot_' || (i % $1::int + 1), now() - make_interval(secs => ($2::int - i)),
       CASE WHEN i > $2::int - $1::int / 2 THEN NULL
            ELSE now() - make_interval(secs => ($2::int - i) - 60) END,
       10, 5, 50.0,
       CASE WHEN i > $2::int - $1::int / 2 THEN 'active' WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' END,
       now(), now()
FROM generate_series(1, $2::int) AS i;

INSERT INTO alarms (id, robot_id, kind, severity, state, message, raised_at, updated_at, value, threshold)
SELECT i, 'robot_' || i, (ARRAY['battery', 'temperature', 'offline'])[i % 3 + 1],
       (ARRAY['warning', 'critical'])[i % 2 + 1], 'open', 'bench alarm ' || i, now(), now(), 5, 10
FROM generate_series(1, $1::int) AS i;

INSERT INTO projection_counters (name, value)
SELECT name, value FROM ({COUNTED_FROM_TABLES}) AS counted WHERE value <> 0
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;

INSERT INTO projection_checkpoint (projection, stream, last_seq) VALUES ('read_tables', 'BENCH', 1)
ON CONFLICT (projection) DO NOTHING
"""


async def seed(url: str) -> float:
    server, name = url.rsplit("/", 1)
    await recreate_database(f"{server}/postgres", name)
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await apply_migrations(conn)
        statements = [s for s in SEED_SQL.split(";\n") if s.strip()]
        args = [(ROBOTS,), (ROBOTS, JOBS), (ALARMS,), (), ()]
        for statement, arguments in zip(statements, args, strict=True):
            await conn.execute(statement, *arguments)
        await conn.execute("VACUUM ANALYZE")
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/tonypi_bench_stats")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--query-bin", default=str(BIN / "tonypi-query"))
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=18_081)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        return 2
    if not args.skip_seed:
        print(f"seeded in {asyncio.run(seed(args.database_url)):.1f}s", flush=True)
    asyncio.run(grant_bench_token(args.database_url))
    env = query_env(args.database_url, args.port)
    base = f"http://127.0.0.1:{args.port}"
    with running_query([args.query_bin], env, base), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wrk(base, ["/api/robots-db/stats"], 3, args.connections, work)  # warm-up
        result = wrk(base, ["/api/robots-db/stats"], args.seconds, args.connections, work)
        request = Request(f"{base}/api/robots-db/stats", headers={"Authorization": f"Bearer {TOKEN}"})
        with urlopen(request, timeout=10) as resp:
            body = resp.read().decode()
    print(f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M}, {os.cpu_count()} cores, {args.query_bin}")
    print(f"GET /stats, {ROBOTS:,} robots, {args.connections} connections, wrk -t1, {args.seconds} s")
    print("| /stats | req/s | p50 ms | p99 ms |")
    print(row("GET /api/robots-db/stats", result))
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
