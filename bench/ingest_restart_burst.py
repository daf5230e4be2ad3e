"""A burst the moment ingest says it is ready, and a reconnect storm, on a stream that knows
many robots (issue 23).

    .venv/bin/python bench/ingest_restart_burst.py                       # 100,000 robots, shipped broker
    .venv/bin/python bench/ingest_restart_burst.py --broker stock --runs 3
    .venv/bin/python bench/ingest_restart_burst.py --robots 0 --no-storm  # a fresh stream

1. A private nats-server and Mosquitto (its log read for "Outgoing messages are being
   dropped"), a stream seeded with one status event per robot (`--robots`).
2. Ingest (persistent session, as deployed) and the projector run once until the projector
   caught up, then stop: what a long-lived installation looks like.
3. Burst (`--runs` times): ingest and the projector are started together; the moment both
   `/readyz` answer 200, `--burst` QoS 1 statuses of known robots are published from
   `--publishers` connections as fast as they go. Counted: the status events stored.
4. Storm: the broker, ingest and the projector are all restarted at once; every one of
   `--storm` robots reports a status from `--storm-connections` connections the moment the
   broker takes connections (not waiting for ingest). Counted the same way.

A robot connection here carries many robots' topics (100,000 TCP connections do not fit on
one box); what the broker sees and forwards to ingest is the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from databases import drop_database, recreate_database
from ingest_load import Publisher
from ingest_throughput import NATS_SERVER, free_port, start_brokers
from restart_stack import (
    PrivateMosquitto,
    robot_id,
    scrape,
    seed_robots,
    status_payload,
    statuses_after,
    wait_all_ready,
)
from tonypi_events import StreamNames, ensure_streams

BIN = Path(sys.executable).parent


class Services:
    def __init__(self, env: dict[str, str], workdir: Path, projector: bool) -> None:
        self.env, self.workdir, self.with_projector = env, workdir, projector
        self.procs: dict[str, subprocess.Popen] = {}
        self.starts = 0

    @property
    def ports(self) -> list[int]:
        names = ("ingest", "projector") if self.with_projector else ("ingest",)
        return [int(self.env[f"{n.upper()}_PORT"]) for n in names]

    def start(self) -> None:
        self.starts += 1
        for name in ("ingest", "projector") if self.with_projector else ("ingest",):
            with open(self.workdir / f"{name}-{self.starts}.log", "wb") as out:
                self.procs[name] = subprocess.Popen(
                    [str(BIN / f"tonypi-{name}")], env=self.env, stdout=out, stderr=subprocess.STDOUT
                )

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in 60 s: killed", file=sys.stderr)
                proc.kill()
                proc.wait()
        self.procs.clear()


async def projector_caught_up(database_url: str, last: int, timeout: float = 600) -> float:
    t0, deadline = time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            conn = await asyncpg.connect(database_url)
            try:
                if (await conn.fetchval("SELECT last_seq FROM projection_checkpoint") or 0) >= last:
                    return time.monotonic() - t0
            finally:
                await conn.close()
        await asyncio.sleep(0.5)
    raise TimeoutError("the projector did not catch up")


def publishers(prefix: str, count: int, connections: int, run: str, first_robot: int = 0) -> list[Publisher]:
    """`count` statuses (robot first_robot, first_robot+1, ...) spread over `connections`."""
    out: list[list] = [[] for _ in range(connections)]
    for n in range(count):
        i = first_robot + n
        out[n % connections].append(
            (f"{prefix}tonypi/status/{robot_id(i)}", status_payload(i, n + 1, run=run))
        )
    return [Publisher(f"bench-{run}-{c}", msgs, 1, window=20) for c, msgs in enumerate(out) if msgs]


async def settle(js, names: StreamNames, after: int, expected: int, quiet_s: float) -> int:
    stored, last_change = -1, time.monotonic()
    while True:
        now = await statuses_after(js, names, after)
        if now != stored:
            stored, last_change = now, time.monotonic()
        if stored >= expected or time.monotonic() - last_change > quiet_s:
            return stored
        await asyncio.sleep(0.2)


async def burst(args, js, names, services, broker, prefix, mqtt_port) -> dict:
    before = (await js.stream_info(names.events)).state.last_seq
    dropped_lines = len(broker.drop_lines())
    pubs = publishers(prefix, args.burst, args.publishers, uuid.uuid4().hex[:6])
    for p in pubs:
        await p.connect("127.0.0.1", mqtt_port)
    t0 = time.monotonic()
    services.start()
    ready_at = await wait_all_ready(services.ports)
    await asyncio.gather(*(p.run(None, ready_at) for p in pubs))
    published_s = time.monotonic() - ready_at
    stored = await settle(js, names, before, args.burst, args.settle)
    metrics = scrape(services.ports[0], "tonypi_ingest_mqtt_broker_wide_dropped")
    for p in pubs:
        await p.close()
    services.stop()
    return {
        "case": "burst at readiness",
        "robots_known": args.robots,
        "ready_after_s": round(ready_at - t0, 2),
        "published": args.burst,
        "publish_s": round(published_s, 2),
        "stored": stored,
        "dropped": args.burst - stored,
        "broker_log_drop_lines": broker.drop_lines()[dropped_lines:],
        "ingest_drop_metrics": metrics,
    }


async def storm(args, js, names, services, broker, prefix, mqtt_port) -> dict:
    before = (await js.stream_info(names.events)).state.last_seq
    dropped_lines = len(broker.drop_lines())
    pubs = publishers(prefix, args.storm, args.storm_connections, uuid.uuid4().hex[:6])
    services.stop() if services.procs else None
    broker.stop()
    t0 = time.monotonic()
    broker.start()
    services.start()
    for p in pubs:
        await p.connect("127.0.0.1", mqtt_port)
    started = time.monotonic()
    await asyncio.gather(*(p.run(None, started) for p in pubs))
    published_s = time.monotonic() - started
    stored = await settle(js, names, before, args.storm, args.settle)
    ready_at = await wait_all_ready(services.ports)
    for p in pubs:
        await p.close()
    services.stop()
    return {
        "case": "reconnect storm after a broker restart",
        "robots_known": args.robots,
        "robots_reporting": args.storm,
        "ready_after_s": round(ready_at - t0, 2),
        "publish_s": round(published_s, 2),
        "stored": stored,
        "dropped": args.storm - stored,
        "broker_log_drop_lines": broker.drop_lines()[dropped_lines:],
    }


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def startup(services: Services, robots: int) -> dict:
    """Ingest alone: seconds from start to /readyz 200, CPU and memory then."""
    services.with_projector = False
    t0 = time.monotonic()
    services.start()
    pid = services.procs["ingest"].pid
    ready_at = await wait_all_ready(services.ports)
    from cpu_meter import cpu_seconds

    figures = {"cpu_s": round(cpu_seconds(pid), 2), "rss_mib": rss_mib(pid)}
    services.stop()
    return {"case": "start-up", "robots_known": robots, "ready_after_s": round(ready_at - t0, 2), **figures}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--robots", type=int, default=100_000, help="robots the stream knows")
    parser.add_argument("--burst", type=int, default=20_000)
    parser.add_argument("--publishers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--storm", type=int, default=100_000, help="robots reporting after a broker restart")
    parser.add_argument("--storm-connections", type=int, default=500)
    parser.add_argument("--no-storm", action="store_true")
    parser.add_argument(
        "--startup-only", action="store_true", help="only ingest's time to ready and memory, no burst"
    )
    parser.add_argument("--no-projector", action="store_true")
    parser.add_argument("--broker", choices=("stock", "shipped"), default="shipped")
    parser.add_argument("--settle", type=float, default=10.0, help="stop counting after this long quiet")
    parser.add_argument("--ingest-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix="restart-burst-"))
    workdir.chmod(0o755)
    mqtt_port = free_port()
    broker = PrivateMosquitto(args.mosquitto, workdir, mqtt_port, args.broker, persistence=True)
    broker.start()
    nats_only = SimpleNamespace(mqtt_port=mqtt_port, nats_url=None, nats_server=NATS_SERVER)
    brokers = start_brokers(nats_only, workdir)
    names = StreamNames(
        events=f"RB_{run}_EVENTS",
        dead_letter=f"RB_{run}_DL",
        subject_prefix=f"rb{run}",
        events_max_bytes=2 * 1024**3,
    )
    db = f"bench_rb_{run}"
    database_url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{db}"
    prefix = f"rb{run}/"
    env = {
        **os.environ,
        "MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
        "NATS_URL": brokers.nats_url,
        "DATABASE_URL": database_url,
        "EVENTS_STREAM": names.events,
        "DEAD_LETTER_STREAM": names.dead_letter,
        "SUBJECT_PREFIX": names.subject_prefix,
        "EVENTS_MAX_BYTES": str(names.events_max_bytes),
        "MQTT_TOPIC_PREFIX": prefix,
        "MQTT_CLIENT_ID": f"tonypi-ingest-bench-{run}",
        "INGEST_PORT": str(free_port()),
        "PROJECTOR_PORT": str(free_port()),
        "LOG_LEVEL": "WARNING",
        **dict(kv.split("=", 1) for kv in args.ingest_env),
    }
    services = Services(env, workdir, projector=not args.no_projector)
    nc = await nats.connect(brokers.nats_url)
    js = nc.jetstream()
    try:
        await ensure_streams(js, names)
        t = time.monotonic()
        last = await seed_robots(js, names, args.robots)
        print(
            json.dumps({"seeded_robots": args.robots, "seed_s": round(time.monotonic() - t, 1)}), flush=True
        )
        if args.startup_only:
            print(json.dumps(await startup(services, args.robots)), flush=True)
            return 0
        if not args.no_projector:
            await recreate_database(args.pg_admin_url, db)
        services.start()  # a long-lived installation: the projector has caught up
        await wait_all_ready(services.ports, timeout=600)
        if not args.no_projector:
            took = await projector_caught_up(database_url, last)
            print(json.dumps({"projector_caught_up_s": round(took, 1)}), flush=True)
        services.stop()
        for _ in range(args.runs):
            print(json.dumps(await burst(args, js, names, services, broker, prefix, mqtt_port)), flush=True)
        if not args.no_storm:
            print(json.dumps(await storm(args, js, names, services, broker, prefix, mqtt_port)), flush=True)
    finally:
        services.stop()
        for stream in (names.events, names.dead_letter):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
        await nc.close()
        brokers.stop()
        broker.stop()
        if not args.no_projector:
            await drop_database(args.pg_admin_url, db)
        if args.keep:
            print(f"logs in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
