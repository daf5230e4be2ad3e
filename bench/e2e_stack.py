"""What the end-to-end benchmarks share (bench/projector_e2e.py, bench/live_feed.py): private
brokers, a private stream and database per scenario run, the services as logged child
processes, QoS 1 publishers, and the figures (percentiles, a /metrics scrape)."""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.request import urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from databases import drop_database
from ingest_load import Publisher, robot_messages
from ingest_throughput import NATS_SERVER
from tonypi_events import StreamNames

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
    publishers = [
        Publisher(
            f"{client_prefix}-{i}",
            [(private.prefix + t, p) for t, p in robot_messages(i, per_robot, start, rng)],
            1,
            window=20,
        )
        for i in range(n_pub)
    ]
    for p in publishers:
        await p.connect("127.0.0.1", brokers.mqtt_port)
    return publishers


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


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--nats-server", default=NATS_SERVER)


def broker_args(args: argparse.Namespace) -> SimpleNamespace:
    """What ingest_throughput.start_brokers takes: free ports, a deep in-flight window."""
    return SimpleNamespace(
        mqtt_port=None,
        nats_url=None,
        broker_inflight=1000,
        broker_queued=0,
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
