"""Telemetry history (docs/history.md): what it costs the projector, and how fast it reads.

    .venv/bin/python bench/history.py                       # 100,000 events; ~5.8 M samples loaded
    .venv/bin/python bench/history.py --events 50000 --robots 20 --interval 30 --rounds 1

1. Throughput, history off against on: a stream on a private nats-server filled with the
   robots' real message mix (bench/projector_replay.py's, received an hour ago so every
   reading is inside retention), then a live `tonypi-projector` catching up on a fresh
   database with HISTORY_ENABLED=false and with true, alternating `--rounds` times.
2. Reads with many samples loaded: `--robots` robots x 10 metrics, one sample every
   `--interval` seconds over `--days` days, written with generate_series straight into the
   daily raw partitions, the minute rollups aggregated from them, and 30 days of hour
   rollups. Then the query service (in-process, real HTTP, API_READS=open) is asked
   `--queries` times for one robot's last 24 h at 60 s steps (three metrics) and its last 30
   days (auto: 3600 s steps), and the fleet's 20 lowest batteries over a day: p50/p99.
   Bytes on disk per raw sample (heap, index, TOAST of every raw partition over the rows).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from databases import drop_database
from ingest_throughput import NATS_SERVER, free_port, wait_port
from projector_replay import catch_up, fill
from tonypi_events import StreamNames, ensure_streams
from tonypi_projector import history_store as hs

METRICS = (
    "battery.percentage",
    "battery.voltage",
    "cpu.percent",
    "memory.percent",
    "cpu.temperature",
    "location.x",
    "location.y",
    "sensor.accelerometer_x",
    "sensor.ultrasonic_distance",
    "servo.1.temperature",
)


async def samples_in(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM history_raw"))
    finally:
        await conn.close()


async def throughput(args, env: dict[str, str], admin_url: str, last: int, tmp: Path) -> list[dict]:
    results = []
    for round_no in range(args.rounds):
        for enabled in ("false", "true"):
            db = f"bench_history_tp_{uuid.uuid4().hex[:8]}"
            url = admin_url.rsplit("/", 1)[0] + f"/{db}"
            run_env = {
                **env,
                "DATABASE_URL": url,
                "HISTORY_ENABLED": enabled,
                "PROJECTOR_PORT": str(free_port()),
            }
            try:
                result = await catch_up(run_env, url, last, tmp)
                result.update(history=enabled, round=round_no + 1, samples=await samples_in(url))
                # On a shared box the rate follows the other load; CPU per event is the cost.
                cpu_s = result["projector_cpu_pct_of_one_core"] / 100 * result["seconds"]
                result["projector_cpu_us_per_event"] = round(1e6 * cpu_s / result["events"])
            finally:
                await drop_database(admin_url, db)
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


async def load(conn: asyncpg.Connection, robots: int, days: int, interval: int, now: datetime) -> dict:
    """Raw samples straight into each day's partition, then the rollups from them."""
    start = datetime.fromtimestamp(hs.partition_start(hs.RAW, now - timedelta(days=days)), UTC)
    end = now
    t0 = time.monotonic()
    await hs.maintain(conn, hs.HistoryPolicy(), now)
    day = start
    while day < end:
        await hs.ensure_partitions(conn, {hs.RAW: {hs.partition_start(hs.RAW, day)}})
        part = hs.partition_name(hs.RAW, hs.partition_start(hs.RAW, day))
        upper = min(day + timedelta(days=1), end)
        await conn.execute(
            f"INSERT INTO {part} (robot_id, metric, t, value) "
            "SELECT 'bench_' || lpad(r::text, 3, '0'), m, g, "
            "  50 + 40 * sin(extract(epoch FROM g) / 3600 + r) + (hashtext(m || g::text) % 7) "
            "FROM generate_series(0, $1 - 1) r, unnest($2::text[]) m, "
            "     generate_series($3::timestamptz, $4::timestamptz - interval '1 microsecond', "
            "                     make_interval(secs => $5)) g",
            robots,
            list(METRICS),
            day,
            upper,
            interval,
        )
        day = upper
    raw_s = time.monotonic() - t0
    for table, days_back in ((hs.MINUTE, days), (hs.HOUR, 31)):
        first = now - timedelta(days=days_back)
        starts = {hs.partition_start(table, first + timedelta(days=d)) for d in range(days_back + 1)}
        await hs.ensure_partitions(conn, {table: starts})
    await conn.execute(
        "INSERT INTO history_minute SELECT robot_id, metric, date_bin('1 minute', t, 'epoch'), min(value), "
        "max(value), sum(value::numeric), count(*), (array_agg(value ORDER BY t DESC))[1], max(t) "
        "FROM history_raw GROUP BY 1, 2, 3"
    )
    # Hours: the raw days aggregated, and synthetic ones before them back to 31 days.
    await conn.execute(
        "INSERT INTO history_hour SELECT robot_id, metric, date_bin('1 hour', t, 'epoch'), min(value), "
        "max(value), sum(value::numeric), count(*), (array_agg(value ORDER BY t DESC))[1], max(t) "
        "FROM history_raw GROUP BY 1, 2, 3"
    )
    per_hour = 3600 // interval
    await conn.execute(
        "INSERT INTO history_hour SELECT 'bench_' || lpad(r::text, 3, '0'), m, g, 10, 90, 50 * $5, $5, 50, g "
        "FROM generate_series(0, $1 - 1) r, unnest($2::text[]) m, "
        "     generate_series($3::timestamptz, $4::timestamptz - interval '1 hour', interval '1 hour') g",
        robots,
        list(METRICS),
        date_floor_hour(now - timedelta(days=31)),
        start,
        per_hour,
    )
    await conn.execute(
        "INSERT INTO robots (id, robot_id, name, created_at, updated_at, is_active) "
        "SELECT r, 'bench_' || lpad(r::text, 3, '0'), 'b', now(), now(), true "
        "FROM generate_series(0, $1 - 1) r ON CONFLICT DO NOTHING",
        robots,
    )
    await conn.execute("ANALYZE history_raw; ANALYZE history_minute; ANALYZE history_hour")
    rows = await conn.fetchval("SELECT count(*) FROM history_raw")
    sizes = {}
    for table in hs.TABLES:
        names = await hs.partitions(conn, table)
        sizes[table.name] = int(
            await conn.fetchval(
                "SELECT coalesce(sum(pg_total_relation_size(quote_ident(n))), 0) FROM unnest($1::text[]) n",
                names,
            )
        )
    return {
        "raw_samples": rows,
        "minute_rows": await conn.fetchval("SELECT count(*) FROM history_minute"),
        "hour_rows": await conn.fetchval("SELECT count(*) FROM history_hour"),
        "load_raw_s": round(raw_s, 1),
        "load_total_s": round(time.monotonic() - t0, 1),
        "bytes": sizes,
        "raw_bytes_per_sample": round(sizes["history_raw"] / rows, 1),
        "all_tables_bytes_per_raw_sample": round(sum(sizes.values()) / rows, 1),
    }


def date_floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


async def timed(http: aiohttp.ClientSession, url: str, params, n: int) -> dict:
    times = []
    body = None
    for _ in range(n):
        t0 = time.perf_counter()
        async with http.get(url, params=params) as resp:
            raw = await resp.read()  # timed to the last byte; parsed after the clock stops
        times.append(1000 * (time.perf_counter() - t0))
        body = json.loads(raw)
        assert resp.status == 200, body
    times.sort()
    points = [len(s["points"]) for s in body.get("series", [])] or [len(body.get("robots", []))]
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "points_or_rows": points,
        "step_s": body.get("step_s"),
        "source": body.get("source"),
    }


async def reads(args, env: dict[str, str], database_url: str) -> dict:
    from aiohttp.test_utils import TestServer
    from tonypi_query.bootstrap import build_app
    from tonypi_query.config import load_settings

    port = free_port()
    app = build_app(
        load_settings({**env, "DATABASE_URL": database_url, "API_READS": "open", "QUERY_PORT": str(port)})
    )
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    base = f"http://127.0.0.1:{port}/api/robots-db"
    try:
        async with aiohttp.ClientSession() as http:
            robot = f"{base}/robots/bench_{args.robots // 2:03d}/history"
            three = [
                ("metric", "battery.percentage"),
                ("metric", "cpu.temperature"),
                ("metric", "servo.1.temperature"),
            ]
            now = datetime.now(UTC)
            await timed(http, robot, [*three, ("step", "60")], 3)  # warm the pool and caches
            return {
                "one robot, 24 h at 60 s, 3 metrics": await timed(
                    http, robot, [*three, ("step", "60")], args.queries
                ),
                "one robot, 24 h at 60 s, 1 metric": await timed(
                    http, robot, [three[0], ("step", "60")], args.queries
                ),
                "one robot, 30 days auto, 3 metrics": await timed(
                    http, robot, [*three, ("from", (now - timedelta(days=30)).isoformat())], args.queries
                ),
                "one robot, 1 h auto (raw), 1 metric": await timed(
                    http, robot, [three[0], ("from", (now - timedelta(hours=1)).isoformat())], args.queries
                ),
                "fleet, 20 lowest batteries over 24 h": await timed(
                    http, f"{base}/history/fleet", [("metric", "battery.percentage")], args.queries
                ),
            }
    finally:
        await server.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--fleet", type=int, default=50, help="robots in the throughput stream")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--robots", type=int, default=50, help="robots in the loaded history")
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--interval", type=int, default=15, help="seconds between loaded samples")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--nats-server", default=NATS_SERVER)
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        port = free_port()
        nats_proc = subprocess.Popen(
            [args.nats_server, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", f"{tmp}/js"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        db = f"bench_history_{run}"
        database_url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{db}"
        try:
            wait_port(port)
            names = StreamNames(
                events=f"BENCH_{run}_EVENTS",
                dead_letter=f"BENCH_{run}_DL",
                subject_prefix=f"bench{run}",
                events_max_bytes=4 * 1024**3,
            )
            nc = await nats.connect(f"nats://127.0.0.1:{port}")
            await ensure_streams(nc.jetstream(), names)
            env = {
                **os.environ,
                "NATS_URL": f"nats://127.0.0.1:{port}",
                "EVENTS_STREAM": names.events,
                "DEAD_LETTER_STREAM": names.dead_letter,
                "SUBJECT_PREFIX": names.subject_prefix,
                "EVENTS_MAX_BYTES": str(names.events_max_bytes),
                "PROJECTOR_BATCH_SIZE": "1000",
                "LOG_LEVEL": "WARNING",
                "CLOCK_TICK_PERIOD": "0",
            }
            if not args.skip_throughput:
                last = await fill(
                    nc.jetstream(), names, args.fleet, args.events, datetime.now(UTC) - timedelta(hours=1)
                )
                results = await throughput(args, env, args.pg_admin_url, last, Path(tmp))
                off = [r["events_per_s"] for r in results if r["history"] == "false"]
                on = [r["events_per_s"] for r in results if r["history"] == "true"]
                off_cpu = [r["projector_cpu_us_per_event"] for r in results if r["history"] == "false"]
                on_cpu = [r["projector_cpu_us_per_event"] for r in results if r["history"] == "true"]
                print(
                    json.dumps(
                        {
                            "off_cpu_us_per_event": off_cpu,
                            "on_cpu_us_per_event": on_cpu,
                            "cpu_cost_pct": round(
                                100 * (statistics.mean(on_cpu) / statistics.mean(off_cpu) - 1), 1
                            ),
                        }
                    ),
                    flush=True,
                )
                print(
                    json.dumps(
                        {
                            "off_events_per_s": off,
                            "on_events_per_s": on,
                            "cost_pct": round(100 * (1 - statistics.mean(on) / statistics.mean(off)), 1),
                        }
                    ),
                    flush=True,
                )
            await nc.close()
            # The read side: the projector's migrations into a fresh database, then the load.
            from tonypi_projector.config import load_settings as projector_settings
            from tonypi_projector.connections import prepare_database
            from tonypi_projector.migrations import apply_migrations

            settings = projector_settings({**env, "DATABASE_URL": database_url})
            await prepare_database(settings)
            conn = await asyncpg.connect(database_url)
            try:
                await apply_migrations(conn)
                loaded = await load(conn, args.robots, args.days, args.interval, datetime.now(UTC))
            finally:
                await conn.close()
            print(json.dumps(loaded), flush=True)
            print(json.dumps(await reads(args, env, database_url)), flush=True)
        finally:
            nats_proc.terminate()
            nats_proc.wait(10)
            await drop_database(args.pg_admin_url, db)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
