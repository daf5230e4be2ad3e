"""What bench/ingest_restart_burst.py runs against: a private Mosquitto whose log we read
(the stock Debian settings or the shipped ones), a stream that already knows many robots,
the services as child processes, and how many of a burst's statuses the stream stored."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.request import urlopen

from ingest_throughput import wait_port  # bench/ is on sys.path (ingest_restart_burst.py)
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from tonypi_events import EventEnvelope, EventType, StreamNames, encode, headers_for

# Debian's /etc/mosquitto/mosquitto.conf sets none of these: max_inflight_messages 20,
# max_queued_messages 1000 (the defaults). "shipped" = deploy/k8s/base/mosquitto/mosquitto.conf.
BROKER_SETTINGS = {
    "stock": "",
    "shipped": "max_queued_messages 100000\nmax_inflight_messages 1000\nset_tcp_nodelay true\n",
}


class PrivateMosquitto:
    """Mosquitto on a free loopback port, logging to a file (drops are logged as notices)."""

    def __init__(self, binary: str, workdir: Path, port: int, settings: str, persistence: bool) -> None:
        self.binary, self.port, self.log = binary, port, workdir / "mosquitto.log"
        data = workdir / "mosquitto-data"
        data.mkdir(exist_ok=True)
        data.chmod(0o777)  # started as root, mosquitto writes as its own user
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence {'true' if persistence else 'false'}\npersistence_location {data}/\n"
            f"log_dest file {self.log}\nlog_type error\nlog_type warning\nlog_type notice\n"
            f"connection_messages true\nsys_interval 1\n{BROKER_SETTINGS[settings]}"
        )
        self.log.touch()
        self.log.chmod(0o666)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        wait_port(self.port, timeout=15.0)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # persistence is written on a clean stop
            self.proc.wait(30)

    def drop_lines(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if "dropped" in line]


def robot_id(i: int) -> str:
    return f"r{i:06d}"


def status_payload(i: int, n: int, status: str = "online", run: str = "") -> bytes:
    return json.dumps(
        {
            "robot_id": robot_id(i),
            "timestamp": "2026-12-05T10:00:00",
            "status": status,
            "system_info": {"cpu_percent": 12.5, "memory_percent": 40.0, "uptime": n},
            "emergency_stopped": False,
            "bench_seq": n,
            "bench_run": run,  # a run's messages never match an earlier run's event ids
        }
    ).encode()


async def seed_robots(js, names: StreamNames, robots: int) -> int:
    """One stored status event per robot (as ingest would store it); returns the last sequence."""
    received, pending, last = datetime(2026, 12, 5, 9, 0, tzinfo=UTC), [], 0
    for i in range(robots):
        event = EventEnvelope(
            event_id=f"seed-{i}",
            event_type=EventType.STATUS,
            schema_version=1,
            robot_id=robot_id(i),
            received_at=received + timedelta(microseconds=i),
            source=f"tonypi/status/{robot_id(i)}",
            payload=json.loads(status_payload(i, 0, "online" if i % 5 else "offline")),
        )
        subject = names.subjects.event(event.robot_id, EventType.STATUS)
        pending.append(js.publish(subject, encode(event), stream=names.events, headers=headers_for(event)))
        if len(pending) >= 1000:
            last = max(a.seq for a in await asyncio.gather(*pending))
            pending = []
    if pending:
        last = max(a.seq for a in await asyncio.gather(*pending))
    return last


async def statuses_after(js, names: StreamNames, seq: int) -> int:
    """How many status events the stream holds after `seq` (clock ticks etc. not counted)."""
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=seq + 1,
        filter_subject=names.subjects.of_type(EventType.STATUS),
        inactive_threshold=30.0,
    )
    info = await js.add_consumer(names.events, config)
    try:
        return info.num_pending
    finally:
        await js.delete_consumer(names.events, info.name)


def ready(port: int) -> bool:
    try:
        return urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1).status == 200
    except OSError:
        return False


async def wait_all_ready(ports: list[int], timeout: float = 120.0) -> float:
    """Poll every 10 ms until every /readyz answers 200; returns the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = await asyncio.gather(*(asyncio.to_thread(ready, p) for p in ports))
        if all(states):
            return time.monotonic()
        await asyncio.sleep(0.01)
    bodies = []
    for port in ports:
        try:
            urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
        except OSError as exc:  # a 503 raises, its body says which check failed
            body = exc.read() if hasattr(exc, "read") else str(exc).encode()
            bodies.append(body.decode(errors="replace"))
    raise TimeoutError(f"not ready after {timeout}s: {ports} {bodies}")


def scrape(port: int, prefix: str) -> dict[str, float]:
    text = urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    return {
        line.split()[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith(prefix) and not line.startswith("#")
    }
