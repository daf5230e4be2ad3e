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
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import urlopen

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from databases import recreate_database
from query_http import _delete_streams, row, wrk
from tonypi_projector.migrations import apply_migrations

BIN = Path(sys.executable).parent
ROBOTS, JOBS, ALARMS = 100_000, 200_000, 5_000

SEED_SQL = """
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
SELECT name, value FROM (
    SELECT 'robots_total' AS name, count(*) AS value FROM robots WHERE is_active
    UNION ALL SELECT 'robots_online', count(*) FROM robots WHERE is_active AND online
    UNION ALL SELECT 'jobs_total', count(*) FROM jobs
    UNION ALL SELECT 'jobs_active', count(*) FROM jobs WHERE status = 'active'
    UNION ALL SELECT 'jobs_completed:' || to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*)
      FROM jobs WHERE status = 'completed' GROUP BY 1
    UNION ALL SELECT 'alarms_open:' || kind || ':' || severity, count(*) FROM alarms WHERE state = 'open'
      GROUP BY 1
) AS counted WHERE value <> 0
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
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "QUERY_PORT": str(args.port),
        "EVENTS_STREAM": f"BENCH_{run}_EVENTS",
        "DEAD_LETTER_STREAM": f"BENCH_{run}_DL",
        "SUBJECT_PREFIX": f"bench{run}",
        "EVENTS_MAX_BYTES": str(64 * 1024 * 1024),
        "LOG_LEVEL": "WARNING",
    }
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen([args.query_bin], env=env)
    try:
        for _ in range(100):
            try:
                with urlopen(f"{base}/readyz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            wrk(base, ["/api/robots-db/stats"], 3, args.connections, work)  # warm-up
            result = wrk(base, ["/api/robots-db/stats"], args.seconds, args.connections, work)
            with urlopen(f"{base}/api/robots-db/stats", timeout=10) as resp:
                body = resp.read().decode()
    finally:
        server.terminate()
        server.wait(15)
        asyncio.run(_delete_streams(env))
    print(f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M}, {os.cpu_count()} cores, {args.query_bin}")
    print(f"GET /stats, {ROBOTS:,} robots, {args.connections} connections, wrk -t1, {args.seconds} s")
    print("| /stats | req/s | p50 ms | p99 ms |")
    print(row("GET /api/robots-db/stats", result))
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
