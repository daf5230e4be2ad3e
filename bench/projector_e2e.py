"""End to end: MQTT publish -> tonypi-ingest -> JetStream -> tonypi-projector -> committed row.

    .venv/bin/python bench/projector_e2e.py                      # both targets below
    .venv/bin/python bench/projector_e2e.py --scenario latency --duration 20

Scenarios (every process on this box: Mosquitto, nats-server, ingest, projector,
PostgreSQL and the load generator):
- throughput: QoS 1 at 5,000 msg/s for 60 s from 200 robot connections. Reports the
  publish-to-commit rate, events lost (published - committed), the projector's largest
  lag while publishing, and how long after the last publish the last commit came.
- latency: QoS 1 at 1,000 msg/s for 30 s from 50 connections. Every event's latency is its
  commit time (when PostgreSQL's NOTIFY with a checkpoint at or past its sequence reached
  the benchmark) minus its scheduled publish time, so a load generator running late
  counts against the system. Reports p50, p90, p99 and max.
Private Mosquitto and nats-server on free ports (as bench/ingest_throughput.py); a fresh
database on the PostgreSQL at --pg-admin-url, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter, postgres_backends
from e2e_stack import (
    PrivateRun,
    add_stack_options,
    broker_args,
    connect_publishers,
    latency_summary,
    scrape,
    service_env,
    start_logged,
    stop_stack,
)
from ingest_throughput import free_port, start_brokers, wait_http_ok
from tonypi_events import EventType, StreamNames, decode, ensure_streams
from tonypi_events.clock import CLOCK_ROBOT_ID
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
    names, database_url = private.names, private.database_url
    ingest_port, projector_port = free_port(), free_port()
    env = service_env(
        brokers,
        private,
        {"ingest": ingest_port, "projector": projector_port},
        PROJECTOR_BATCH_SIZE=str(args.projector_batch_size),
    )
    nc = await nats.connect(brokers.nats_url)
    await ensure_streams(nc.jetstream(), names)  # the admin's part: no service creates a stream
    procs = {name: start_logged(name, env, workdir / f"{name}-{run}.log") for name in ("ingest", "projector")}
    commits: list[tuple[float, int]] = []
    listener = None
    try:
        await wait_http_ok(f"http://127.0.0.1:{ingest_port}/readyz")
        await wait_http_ok(f"http://127.0.0.1:{projector_port}/readyz")
        listener = await asyncpg.connect(database_url)
        await listener.add_listener("tonypi_checkpoint", lambda *a: commits.append((time.time(), int(a[3]))))
        per_robot = int(rate * duration / n_pub)
        start = datetime(2026, 11, 26, 8, 0, 0)
        publishers = await connect_publishers(brokers, private, f"e2e-{run}", per_robot, n_pub, start)
        total = per_robot * n_pub
        meter = CpuMeter(
            {
                **{k: p.pid for k, p in procs.items()},
                **brokers.pids,
                # the projector's pool, the benchmark's own listener left out (it is load)
                "postgres": await postgres_backends(listener, private.db),
                "load generator": os.getpid(),
            }
        )
        meter.start()
        max_lag = 0.0

        async def watch_lag() -> None:
            nonlocal max_lag
            while True:
                max_lag = max(
                    max_lag, await asyncio.to_thread(scrape, projector_port, "tonypi_projector_lag_events")
                )
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch_lag())
        t0, wall0 = time.monotonic(), time.time()
        await asyncio.gather(*(p.run(rate / n_pub, t0) for p in publishers))
        publish_end = time.time()
        watcher.cancel()
        # Wait for the stream to hold everything and the projector to commit it all.
        # The projector's clock ticks share the stream: stored counts the robots' messages only.
        ticks = names.subjects.event(CLOCK_ROBOT_ID, EventType.CLOCK_TICK)
        deadline, stored = time.monotonic() + args.settle, -1
        while time.monotonic() < deadline:
            info = await nc.jetstream().stream_info(names.events, subjects_filter=ticks)
            stored = info.state.messages - sum((info.state.subjects or {}).values())
            if stored >= total and commits and commits[-1][1] >= info.state.last_seq:
                break
            await asyncio.sleep(0.05)
        cpu = meter.stop(total)
        for p in publishers:
            await p.close()
        conn = await asyncpg.connect(database_url)
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
            "max_projector_lag_events": int(max_lag),
            **cpu,
        }
        if name == "latency":
            origin = await read_stream(nc, names, checkpoint or 0)
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
    finally:
        if listener is not None:
            await listener.close()
        await stop_stack(procs, nc, private, args.pg_admin_url)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=tuple(SCENARIOS), action="append", help="default: both")
    parser.add_argument("--rate", type=float, help="override the scenario's offered msg/s")
    parser.add_argument("--duration", type=float, help="override the scenario's seconds of publishing")
    parser.add_argument("--publishers", type=int, help="override the scenario's robot connections")
    parser.add_argument("--projector-batch-size", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=120.0, help="max seconds to wait for the last commit")
    add_stack_options(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="projector-e2e-") as tmp:
        brokers = start_brokers(broker_args(args), Path(tmp))
        try:
            for name in args.scenario or list(SCENARIOS):
                print(json.dumps(await run_scenario(name, args, brokers, Path(tmp))), flush=True)
        finally:
            brokers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
