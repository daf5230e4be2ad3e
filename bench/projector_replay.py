"""Projector fold rate: a fresh database catching up on a full stream, and `tonypi replay`.

    .venv/bin/python bench/projector_replay.py                    # 200,000 events, 50 robots
    .venv/bin/python bench/projector_replay.py --events 50000 --batch-size 5000

Fills a stream on a private nats-server with the robots' real message mix (both firmware
generations: sensor bursts, location, battery, status, scans, job progress; built by the
same `bench/ingest_load.py` the ingest benchmark uses) as the envelopes ingest would
store, then:
1. catch-up: starts `tonypi-projector` against a fresh database and times it from its
   first committed batch to the checkpoint reaching the stream's last sequence;
2. replay: runs `tonypi replay` (staging schema, swap) against that database and times it
   end to end, setup and swap included.
Reports events/s and CPU (% of one core) of the projector process and of the whole box.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter, machine_cpu_seconds, postgres_backends
from databases import drop_database
from ingest_load import robot_messages
from ingest_throughput import NATS_SERVER, free_port, wait_port
from tonypi_events import EventEnvelope, StreamNames, encode, ensure_streams, headers_for, route_for

BIN = Path(sys.executable).parent


FIXED_START = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)


def envelopes(robots: int, total: int, seed: int = 42, received: datetime = FIXED_START):
    """The fleet's messages as ingest would store them, interleaved, from `received` on."""
    rng = random.Random(seed)
    start = received.replace(tzinfo=None)
    per_robot = total // robots
    streams = [robot_messages(i, per_robot, start, rng) for i in range(robots)]
    n = 0
    for i in range(per_robot):  # interleaved, as a fleet publishes
        for messages in streams:
            topic, raw = messages[i]
            payload = json.loads(raw)
            route = route_for(topic)
            n += 1
            yield EventEnvelope(
                event_id=uuid.uuid4().hex,
                event_type=route.event_type,
                schema_version=route.detect_version(payload),
                robot_id=payload["robot_id"],
                received_at=received + timedelta(milliseconds=n),
                source=topic,
                payload=payload,
            )


async def fill(js, names: StreamNames, robots: int, total: int, received: datetime = FIXED_START) -> int:
    pending, last = [], 0
    for ev in envelopes(robots, total, received=received):
        pending.append(
            js.publish(
                names.subjects.event(ev.robot_id, ev.event_type),
                encode(ev),
                stream=names.events,
                headers=headers_for(ev),
            )
        )
        if len(pending) >= 500:
            last = max(a.seq for a in await asyncio.gather(*pending))
            pending = []
    if pending:
        last = max(a.seq for a in await asyncio.gather(*pending))
    return last


async def checkpoint(conn: asyncpg.Connection) -> int:
    try:
        return int(await conn.fetchval("SELECT last_seq FROM projection_checkpoint") or 0)
    except asyncpg.UndefinedTableError:
        return 0


async def catch_up(env: dict[str, str], database_url: str, last: int, workdir: Path) -> dict:
    log = workdir / "projector.log"
    with open(log, "wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [str(BIN / "tonypi-projector")], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        conn = None
        deadline = time.monotonic() + 60
        while conn is None:
            try:
                conn = await asyncpg.connect(database_url)
            except asyncpg.InvalidCatalogNameError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
        first_seq = 0
        while first_seq == 0:
            first_seq = await checkpoint(conn)
            await asyncio.sleep(0.005)
        meter = CpuMeter(
            {"projector": proc.pid, "postgres": await postgres_backends(conn, database_url.rsplit("/", 1)[1])}
        )
        t0 = time.monotonic()
        meter.start()
        seq = first_seq
        while seq < last:
            await asyncio.sleep(0.02)
            seq = await checkpoint(conn)
        elapsed = time.monotonic() - t0
        cpu = meter.stop(last - first_seq)
        await conn.close()
        return {
            "scenario": "catch-up (live projector, fresh database)",
            "events": last - first_seq,
            "seconds": round(elapsed, 2),
            "events_per_s": round((last - first_seq) / elapsed),
            **cpu,
        }
    finally:
        proc.terminate()
        proc.wait(30)


def run_replay(env: dict[str, str], batch_size: int) -> dict:
    box0, t0 = machine_cpu_seconds(), time.monotonic()
    out = subprocess.run(
        [str(BIN / "tonypi"), "replay", "--batch-size", str(batch_size)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    summary = out.stderr.strip().splitlines()[-1]
    rate = float(summary.split("(")[1].split(" events/s")[0].replace(",", ""))
    return {
        "scenario": f"tonypi replay --batch-size {batch_size}",
        "summary": summary,
        "events_per_s": round(rate),
        "wall_s_including_process_start": round(elapsed, 2),
        "box_cpu_pct": round(100 * (machine_cpu_seconds() - box0) / elapsed),
    }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--robots", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=2000, help="replay batch size")
    parser.add_argument("--projector-batch-size", type=int, default=1000)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--nats-server", default=NATS_SERVER)
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]
    db = f"bench_projector_{run}"
    database_url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{db}"
    with tempfile.TemporaryDirectory(prefix="projector-bench-") as tmp:
        port = free_port()
        nats_proc = subprocess.Popen(
            [args.nats_server, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", f"{tmp}/js"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
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
            t0 = time.monotonic()
            last = await fill(nc.jetstream(), names, args.robots, args.events)
            print(
                json.dumps({"scenario": "fill", "filled": last, "seconds": round(time.monotonic() - t0, 1)}),
                flush=True,
            )
            await nc.close()
            env = {
                **os.environ,
                "NATS_URL": f"nats://127.0.0.1:{port}",
                "DATABASE_URL": database_url,
                "EVENTS_STREAM": names.events,
                "DEAD_LETTER_STREAM": names.dead_letter,
                "SUBJECT_PREFIX": names.subject_prefix,
                "EVENTS_MAX_BYTES": str(names.events_max_bytes),
                "PROJECTOR_PORT": str(free_port()),
                "PROJECTOR_BATCH_SIZE": str(args.projector_batch_size),
                "LOG_LEVEL": "WARNING",
            }
            print(json.dumps(await catch_up(env, database_url, last, Path(tmp))), flush=True)
            print(json.dumps(await asyncio.to_thread(run_replay, env, args.batch_size)), flush=True)
        finally:
            nats_proc.terminate()
            nats_proc.wait(10)
            await drop_database(args.pg_admin_url, db)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
