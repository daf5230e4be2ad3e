"""What the end-to-end benchmarks share (bench/projector_e2e.py, bench/registration_storm.py,
bench/live_feed.py): private brokers, a private stream and database per scenario run, the
services as logged child processes (ingest and the projector with a NOTIFY listener and a
wait for the last commit: `pipeline`), QoS 1 publishers, and the figures (percentiles, a
/metrics scrape)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple
from urllib.request import urlopen

import asyncpg
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter, postgres_backends
from databases import drop_database
from ingest_load import Publisher, robot_messages
from ingest_throughput import NATS_SERVER, free_port, wait_http_ok
from tonypi_events import EventType, StreamNames, ensure_streams
from tonypi_events.clock import CLOCK_ROBOT_ID

BIN = Path(sys.executable).parent
PERCENTILES = (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))


@dataclass(frozen=True)
class PrivateRun:
    """One scenario run's private names: `tag` "E2E" gives E2E_<run>_EVENTS, e2e<run>/..."""

    run: str
    names: StreamNames
    db: str
    database_url: str
    prefix: str

    @classmethod
    def make(cls, tag: str, run: str, pg_admin_url: str) -> PrivateRun:
        low = tag.lower()
        names = StreamNames(
            events=f"{tag}_{run}_EVENTS",
            dead_letter=f"{tag}_{run}_DL",
            subject_prefix=f"{low}{run}",
            events_max_bytes=4 * 1024**3,
        )
        db = f"bench_{low}_{run}"
        return cls(run, names, db, pg_admin_url.rsplit("/", 1)[0] + f"/{db}", f"{low}{run}/")


def service_env(brokers, private: PrivateRun, ports: dict[str, int], **extra: str) -> dict[str, str]:
    """The services' environment: private brokers, stream, database and topic prefix; the HTTP
    port of each service in `ports` (ingest, projector, query); `extra` on top."""
    names = private.names
    return {
        **os.environ,
        "MQTT_URL": f"mqtt://127.0.0.1:{brokers.mqtt_port}",
        "NATS_URL": brokers.nats_url,
        "DATABASE_URL": private.database_url,
        "EVENTS_STREAM": names.events,
        "DEAD_LETTER_STREAM": names.dead_letter,
        "SUBJECT_PREFIX": names.subject_prefix,
        "EVENTS_MAX_BYTES": str(names.events_max_bytes),
        "MQTT_TOPIC_PREFIX": private.prefix,
        **{f"{service.upper()}_PORT": str(port) for service, port in ports.items()},
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def start_logged(name: str, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start the tonypi-<name> console script, its output to log_path (the child keeps the file)."""
    with open(log_path, "wb") as out:
        return subprocess.Popen([str(BIN / f"tonypi-{name}")], env=env, stdout=out, stderr=subprocess.STDOUT)


async def connect_publishers(
    brokers, private: PrivateRun, client_prefix: str, per_robot: int, n_pub: int, start: datetime
) -> list[Publisher]:
    """`n_pub` QoS 1 robot connections (20 in flight each), `per_robot` messages each, connected."""
    rng = random.Random(7)
    return await open_publishers(
        brokers,
        client_prefix,
        [
            [(private.prefix + t, p) for t, p in robot_messages(i, per_robot, start, rng)]
            for i in range(n_pub)
        ],
    )


async def open_publishers(
    brokers, client_prefix: str, messages: list[list[tuple[str, bytes]]]
) -> list[Publisher]:
    """A connected QoS 1 publisher (20 in flight, like paho) per list of (full topic, payload)."""
    publishers = [Publisher(f"{client_prefix}-{i}", m, 1, window=20) for i, m in enumerate(messages)]
    for p in publishers:
        await p.connect("127.0.0.1", brokers.mqtt_port)
    return publishers


class Driven(NamedTuple):
    """What `Pipeline.drive` saw: when publishing began and ended (wall clock), the robot
    messages stored, and each process's CPU (CpuMeter.stop)."""

    wall0: float
    publish_end: float
    stored: int
    cpu: dict


@dataclass
class Pipeline:
    """tonypi-ingest and tonypi-projector on a private stream and database (`pipeline`), and the
    benchmark's LISTEN: `commits` gets (wall time, checkpoint) for each committed batch."""

    private: PrivateRun
    ports: dict[str, int]
    procs: dict[str, subprocess.Popen]
    nc: Any
    listener: Any = None
    commits: list[tuple[float, int]] = field(default_factory=list)
    max_lag: float = 0.0

    async def meter(self, brokers) -> CpuMeter:
        """Every process's CPU: the services, the brokers, the projector's PostgreSQL backends
        (the benchmark's own listener left out: it is load) and the load generator."""
        return CpuMeter(
            {
                **{k: p.pid for k, p in self.procs.items()},
                **brokers.pids,
                "postgres": await postgres_backends(self.listener, self.private.db),
                "load generator": os.getpid(),
            }
        )

    async def watch_lag(self) -> None:
        """Until cancelled: `max_lag` = the projector's largest lag, read twice a second."""
        port = self.ports["projector"]
        while True:
            lag = await asyncio.to_thread(scrape, port, "tonypi_projector_lag_events")
            self.max_lag = max(self.max_lag, lag)
            await asyncio.sleep(0.5)

    async def drive(self, brokers, publishers, rate: float | None, total: int, settle: float) -> Driven:
        """Run `publishers` (each at `rate` msg/s, None: as fast as it goes) under the CPU meter
        and the lag watch, then `settle` for `total`; the publishers are closed afterwards."""
        meter = await self.meter(brokers)
        meter.start()
        watcher = asyncio.create_task(self.watch_lag())
        t0, wall0 = time.monotonic(), time.time()
        await asyncio.gather(*(p.run(rate, t0) for p in publishers))
        publish_end = time.time()
        watcher.cancel()
        stored = await self.settle(total, settle)  # the stream holds everything, all committed
        cpu = meter.stop(total)
        for p in publishers:
            await p.close()
        return Driven(wall0, publish_end, stored, cpu)

    async def settle(self, total: int, timeout: float, quiet: float = 10.0) -> int:
        """Wait until the stream holds `total` robot messages and the projector committed up to
        its end (or nothing new was stored for `quiet` seconds with everything stored
        committed: a loss; or `timeout`); returns the robot messages stored. The projector's
        clock ticks share the stream: they are not counted."""
        names = self.private.names
        ticks = names.subjects.event(CLOCK_ROBOT_ID, EventType.CLOCK_TICK)
        deadline, stored, changed = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() < deadline:
            info = await self.nc.jetstream().stream_info(names.events, subjects_filter=ticks)
            now = info.state.messages - sum((info.state.subjects or {}).values())
            if now != stored:
                stored, changed = now, time.monotonic()
            caught_up = bool(self.commits) and self.commits[-1][1] >= info.state.last_seq
            if caught_up and (stored >= total or time.monotonic() - changed > quiet):
                break
            await asyncio.sleep(0.05)
        return stored


@contextlib.asynccontextmanager
async def pipeline(
    brokers, private: PrivateRun, workdir: Path, pg_admin_url: str, **extra_env: str
) -> AsyncIterator[Pipeline]:
    """Create the private streams (the admin's part: no service creates one), start ingest and
    the projector (`extra_env` on top of service_env), wait for both to be ready and LISTEN for
    checkpoints; afterwards stop them and drop the streams and the database."""
    ports = {"ingest": free_port(), "projector": free_port()}
    env = service_env(brokers, private, ports, **extra_env)
    nc = await nats.connect(brokers.nats_url)
    await ensure_streams(nc.jetstream(), private.names)
    procs = {n: start_logged(n, env, workdir / f"{n}-{private.run}.log") for n in ("ingest", "projector")}
    stack = Pipeline(private, ports, procs, nc)
    try:
        for port in ports.values():
            await wait_http_ok(f"http://127.0.0.1:{port}/readyz")
        stack.listener = await asyncpg.connect(private.database_url)
        await stack.listener.add_listener(
            "tonypi_checkpoint", lambda *a: stack.commits.append((time.time(), int(a[3])))
        )
        yield stack
    finally:
        if stack.listener is not None:
            await stack.listener.close()
        await stop_stack(procs, nc, private, pg_admin_url)


async def stop_stack(procs: dict[str, subprocess.Popen], nc, private: PrivateRun, pg_admin_url: str) -> None:
    """SIGTERM the services (kill after 30 s), delete the private streams, drop the database."""
    for proc in procs.values():
        proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    for stream in (private.names.events, private.names.dead_letter):
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(stream)
    await nc.close()
    await drop_database(pg_admin_url, private.db)


# Mosquitto's limits: (max_inflight_messages, max_queued_messages). "bench": a deep in-flight
# window and an unbounded queue (deploy/k8s/base/mosquitto/mosquitto.conf ships 1000 and
# 100000); "stock": Mosquitto's defaults, which Debian's /etc/mosquitto/mosquitto.conf keeps.
BROKER_LIMITS = {"bench": (1000, 0), "stock": (20, 1000)}


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--nats-server", default=NATS_SERVER)
    parser.add_argument(
        "--broker",
        choices=tuple(BROKER_LIMITS),
        default="bench",
        help="Mosquitto's in-flight and queue limits: bench (1000, unbounded) or stock (20, 1000)",
    )


def broker_args(args: argparse.Namespace) -> SimpleNamespace:
    """What ingest_throughput.start_brokers takes: free ports, the --broker limits."""
    inflight, queued = BROKER_LIMITS[getattr(args, "broker", "bench")]
    return SimpleNamespace(
        mqtt_port=None,
        nats_url=None,
        broker_inflight=inflight,
        broker_queued=queued,
        mosquitto=args.mosquitto,
        nats_server=args.nats_server,
    )


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def latency_summary(sorted_values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max, rounded to 0.1 ms."""
    return {p: round(percentile(sorted_values, q), 1) for p, q in PERCENTILES}


def scrape(port: int, name: str) -> float:
    text = urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0
