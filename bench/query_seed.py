"""Seeding a benchmark database for the query service directly in SQL (generate_series):
1,000 robots, 100,000 jobs, 1,000,000 system_logs rows. A bench fixture, not a fold of
events: the point is a table of production size, fast.

    .venv/bin/python bench/query_seed.py postgresql://postgres@127.0.0.1:5432/tonypi_bench_query
"""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg
from databases import recreate_database
from tonypi_projector.migrations import apply_migrations

ROBOTS, JOBS, LOGS = 1_000, 100_000, 1_000_000

SEED_SQL = """
INSERT INTO robots (id, robot_id, name, location, status, last_seen, created_at, updated_at, is_active,
                    telemetry)
SELECT i, 'robot_' || i, 'Robot ' || i, 'Building ' || chr(65 + i % 4),
       CASE WHEN i % 10 = 0 THEN 'offline' ELSE 'online' END,
       now() - make_interval(secs => (i % 180)), now() - interval '60 days', now(), i % 50 <> 0,
       jsonb_build_object('battery', jsonb_build_object('percentage', i % 100, 'received_at', now()))
FROM generate_series(1, $1::int) AS i;

-- The newest job of each robot is active (at most one active per robot); older ones ended.
INSERT INTO jobs (id, robot_id, start_time, end_time, items_total, items_done, percent_complete,
                  status, created_at, updated_at, task_name)
SELECT i, 'robot_' || (i % $1::int + 1),
       now() - make_interval(secs => ($2::int - i) * 20),
       CASE WHEN i > $2::int - $1::int THEN NULL
            ELSE now() - make_interval(secs => ($2::int - i) * 20 - 300) END,
       10, i % 11, (i % 11) * 10.0,
       CASE WHEN i > $2::int - $1::int THEN 'active'
            WHEN i % 10 = 0 THEN 'failed' WHEN i % 10 = 1 THEN 'cancelled' ELSE 'completed' END,
       now(), now(), 'Transport ' || (i % 7)
FROM generate_series(1, $2::int) AS i;

-- Timestamps in whole seconds, two rows a second over ~23 days: ties the id must break.
INSERT INTO system_logs (id, level, category, message, robot_id, details, timestamp)
SELECT i,
       (ARRAY['INFO','INFO','INFO','INFO','INFO','INFO','INFO','WARNING','WARNING','ERROR'])[i % 10 + 1],
       (ARRAY['status','robot_main','job','command','api','ingest'])[i % 6 + 1],
       (ARRAY['Robot is now online (was offline)', 'servo 3 temperature high', 'battery low: 18%',
              'Job started: Transport', 'Job completed: Transport', 'command move acknowledged',
              'QR code scanned at station ' || (i % 40), 'camera frame dropped',
              'walking to dock ' || (i % 12), 'Robot updated: robot_' || (i % 1000 + 1)])[i % 10 + 1]
         || ' #' || i,
       'robot_' || (i % $1::int + 1),
       CASE WHEN i % 5 = 0 THEN json_build_object('seq', i) END,
       date_trunc('second', now()) - make_interval(secs => ($2::int - i) / 2)
FROM generate_series(1, $2::int) AS i;

INSERT INTO projection_checkpoint (projection, stream, last_seq) VALUES ('read_tables', 'BENCH', $1::int);
"""


async def seed(url: str) -> dict[str, float]:
    """Recreate the database named in `url`, migrate, fill it; returns seconds per step."""
    server, name = url.rsplit("/", 1)
    await recreate_database(f"{server}/postgres", name)
    conn = await asyncpg.connect(url)
    timings = {}
    try:
        started = time.perf_counter()
        await apply_migrations(conn)
        statements = [s for s in SEED_SQL.split(";\n") if s.strip()]
        for statement, args in zip(
            statements, [(ROBOTS,), (ROBOTS, JOBS), (ROBOTS, LOGS), (LOGS,)], strict=True
        ):
            await conn.execute(statement, *args)
        timings["seed_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        timings["analyze_s"] = time.perf_counter() - started
    finally:
        await conn.close()
    return timings


if __name__ == "__main__":
    print(asyncio.run(seed(sys.argv[1])))
