"""End to end: MQTT publish -> tonypi-ingest -> JetStream -> tonypi-projector -> committed row.

    .venv/bin/python bench/projector_e2e.py                      # both targets below
    .venv/bin/python bench/projector_e2e.py --scenario latency --duration 20
    .venv/bin/python bench/projector_e2e.py --scenario registration --robots 20000 --rate 5000

Scenarios (every process on this box: Mosquitto, nats-server, ingest, projector,
PostgreSQL and the load generator):
- throughput: QoS 1 at 5,000 msg/s for 60 s from 200 robot connections. Reports the
  publish-to-commit rate, events lost (published - committed), the projector's largest
  lag while publishing, and how long after the last publish the last commit came.
- latency: QoS 1 at 1,000 msg/s for 30 s from 50 connections. Every event's latency is its
  commit time (when PostgreSQL's NOTIFY with a checkpoint at or past its sequence reached
  the benchmark) minus its scheduled publish time, so a load generator running late
  counts against the system. Reports p50, p90, p99 and max.
- registration (bench/registration_storm.py; asked for by name only): 20,000 robots never
  seen before each send their first status, QoS 1, offered at 5,000 robots/s from 200
  connections. Reports new robot rows committed per second and robots lost.
Private Mosquitto and nats-server on free ports (as bench/ingest_throughput.py); a fresh
database on the PostgreSQL at --pg-admin-url, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_stack import (
    PrivateRun,
    add_stack_options,
    broker_args,
    connect_publishers,
    latency_summary,
    pipeline,
)
from ingest_throughput import start_brokers
from registration_storm import REGISTRATION, add_registration_options, run_registration
from tonypi_events import StreamNames, decode
from tonypi_projector.source import EventSource

SCENARIOS = {
    "throughput": dict(rate=5000.0, duration=60.0, publishers=200),
    "latency": dict(rate=1000.0, duration=30.0, publishers=50),
}


async def read_stream(nc, names: StreamNames, last: int) -> dict[int, tuple[str, int]]:
    """stream sequence -> (robot id, bench_seq) for every event."""
    source = EventSource(nc, names, "", batch_size=5000, fetch_timeout=1.0, durable=False)
    await source.open(1)
    out: dict[int, tuple[str, int]] = {}
    try:
        while len(out) < last:
            msgs = await source.fetch()
            if not msgs:
                break
            for m in msgs:
                ev = decode(m.data)
                out[m.metadata.sequence.stream] = (ev.robot_id, ev.payload.get("bench_seq", -1))
    finally:
        await source.close()
    return out


async def run_scenario(name: str, args, brokers, workdir: Path) -> dict:
    spec = {
        **SCENARIOS[name],
        **{
            k: v
            for k, v in (("rate", args.rate), ("duration", args.duration), ("publishers", args.publishers))
            if v
        },
    }
    rate, duration, n_pub = spec["rate"], spec["duration"], int(spec["publishers"])
    run = uuid.uuid4().hex[:8]
    private = PrivateRun.make("E2E", run, args.pg_admin_url)
    batch = str(args.projector_batch_size)
    async with pipeline(brokers, private, workdir, args.pg_admin_url, PROJECTOR_BATCH_SIZE=batch) as stack:
        commits, names = stack.commits, private.names
        per_robot = int(rate * duration / n_pub)
        start = datetime(2026, 11, 26, 8, 0, 0)
        publishers = await connect_publishers(brokers, private, f"e2e-{run}", per_robot, n_pub, start)
        total = per_robot * n_pub
        wall0, publish_end, stored, cpu = await stack.drive(
            brokers, publishers, rate / n_pub, total, args.settle
        )
        conn = await asyncpg.connect(private.database_url)
        try:
            checkpoint = await conn.fetchval("SELECT last_seq FROM projection_checkpoint")
            dead = await conn.fetchval("SELECT count(*) FROM projection_dead_letters")
        finally:
            await conn.close()
        result = {
            "scenario": name,
            "qos": 1,
            "offered_msg_s": rate,
            "seconds": duration,
            "publishers": n_pub,
            "published": total,
            "stored": stored,
            "committed": checkpoint,
            "dead_letters": dead,
            "lost": total - stored,  # the checkpoint reached the stream's end (above)
            "last_commit_after_last_publish_s": round(commits[-1][0] - publish_end, 2) if commits else None,
            "publish_to_commit_msg_s": round((checkpoint or 0) / (commits[-1][0] - wall0)) if commits else 0,
            "max_projector_lag_events": int(stack.max_lag),
            **cpu,
        }
        if name == "latency":
            origin = await read_stream(stack.nc, names, checkpoint or 0)
            per_pub_rate = rate / n_pub
            i = 0
            latencies = []
            for seq in sorted(origin):
                while commits[i][1] < seq:
                    i += 1
                _robot, bench_seq = origin[seq]
                if bench_seq < 0:  # a clock tick, not a robot's message
                    continue
                scheduled = wall0 + bench_seq / per_pub_rate
                latencies.append(1000 * (commits[i][0] - scheduled))
            latencies.sort()
            result["latency_ms"] = latency_summary(latencies)
            result["latency_samples"] = len(latencies)
        return result


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario",
        choices=(*SCENARIOS, REGISTRATION),
        action="append",
        help="default: throughput and latency",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="override the scenario's offered msg/s (registration: robots/s, 0 as fast as it goes)",
    )
    parser.add_argument(
        "--duration", type=float, help="override the scenario's seconds of publishing (not registration's)"
    )
    parser.add_argument("--publishers", type=int, help="override the scenario's robot connections")
    parser.add_argument("--projector-batch-size", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=120.0, help="max seconds to wait for the last commit")
    add_registration_options(parser)
    add_stack_options(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="projector-e2e-") as tmp:
        brokers = start_brokers(broker_args(args), Path(tmp))
        try:
            for name in args.scenario or list(SCENARIOS):
                run = run_registration if name == REGISTRATION else run_scenario
                print(json.dumps(await run(name, args, brokers, Path(tmp))), flush=True)
        finally:
            brokers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
