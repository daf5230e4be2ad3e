"""The live feed end to end: MQTT publish -> ingest -> JetStream -> projector (live_feed record)
-> query (FeedHub) -> Server-Sent Events client. See docs/live.md.

    .venv/bin/python bench/live_feed.py                          # both scenarios
    .venv/bin/python bench/live_feed.py --scenario latency --duration 20

Scenarios (every process on this box: Mosquitto, nats-server, ingest, projector, query,
PostgreSQL and the load generator with its SSE clients):
- latency: QoS 1 at 1,000 msg/s for 30 s from 50 robot connections, read by --readers SSE
  clients. Each record's latency is the time its client read it minus the message's scheduled
  publish time (so a late load generator counts against the system): p50, p90, p99, max.
- clients: one query replica, a steady 100 msg/s, and N SSE clients connected at once for each
  N in --clients. The clients only count records (the load generator must not be the
  bottleneck); one probe client measures latency as above. A step holds when every client
  connects, none is dropped, each receives every record and the probe's p99 stays under 1 s.
Private Mosquitto and nats-server on free ports; a fresh database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import nats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_meter import CpuMeter
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
from query_server import TOKEN, grant_bench_token
from tonypi_events import ensure_streams

API = "/api/robots-db/events"


class SseClient:
    """A raw HTTP/1.1 SSE reader. `probe` clients parse each record for its latency; the rest
    only count records, so thousands of them cost the load generator little."""

    def __init__(self, port: int, probe: bool, per_pub_rate: float, wall0: float) -> None:
        self.port, self.probe, self.rate, self.wall0 = port, probe, per_pub_rate, wall0
        self.records = 0
        self.latencies: list[float] = []
        self.failed: str | None = None
        self.task: asyncio.Task | None = None

    async def run(self, connected: asyncio.Event | None = None) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(
                f"GET {API} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
                f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
            )
            status = await reader.readline()
            if b" 200 " not in status:
                self.failed = status.decode().strip()
                return
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            if connected is not None:
                connected.set()
            buffer, tail = b"", b""
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    self.failed = self.failed or "closed by the server"
                    return
                if not self.probe:  # a record's "\nid: " may straddle two reads
                    self.records += (tail + chunk).count(b"\nid: ")
                    tail = chunk[-4:]
                    continue
                now = time.time()
                buffer += chunk
                *frames, buffer = buffer.split(b"\n\n")
                for frame in frames:
                    for line in frame.split(b"\n"):
                        if line.startswith(b"data: "):
                            self.records += 1
                            seq = json.loads(line[6:])["data"].get("payload", {}).get("bench_seq")
                            if seq is not None:
                                self.latencies.append(1000 * (now - (self.wall0 + seq / self.rate)))
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.failed = f"{type(exc).__name__}: {exc}"


async def publish(brokers, private: PrivateRun, run: str, rate: float, duration: float, n_pub: int) -> tuple:
    per_robot = int(rate * duration / n_pub)
    # The robots' timestamps start now: the steps of a ramp share one stream, and a step that
    # sent the same messages as the one before would be dropped whole as duplicates (the
    # Nats-Msg-Id is a hash of topic and payload, remembered for 2 minutes).
    start = datetime.now().replace(microsecond=0)
    publishers = await connect_publishers(brokers, private, f"live-{run}", per_robot, n_pub, start)
    return publishers, per_robot * n_pub


async def run_scenario(name: str, args, brokers, workdir: Path) -> list[dict]:
    run = uuid.uuid4().hex[:8]
    private = PrivateRun.make("LIVE", run, args.pg_admin_url)
    ports = {k: free_port() for k in ("ingest", "projector", "query")}
    env = service_env(
        brokers, private, ports, SSE_MAX_CLIENTS="20000", SSE_CLIENT_BUFFER="1000", DB_POOL_MAX="10"
    )
    nc = await nats.connect(brokers.nats_url)
    await ensure_streams(nc.jetstream(), private.names)  # the admin's part: no service creates a stream
    procs = {n: start_logged(n, env, workdir / f"{n}-{run}.log") for n in ("projector", "ingest", "query")}
    results = []
    try:
        for n in ("ingest", "projector", "query"):
            await wait_http_ok(f"http://127.0.0.1:{ports[n]}/readyz")
        await grant_bench_token(private.database_url)  # the SSE clients' viewer token
        if name == "latency":
            results.append(await latency(args, brokers, private, run, ports, procs))
        else:
            for n_clients in args.clients:
                results.append(
                    await clients(args, brokers, private, f"{run}{n_clients}", ports, procs, n_clients)
                )
                if results[-1]["holds"] is False:
                    break
        return results
    finally:
        await stop_stack(procs, nc, private, args.pg_admin_url)


async def _drive(args, brokers, private, run, ports, procs, rate, duration, n_pub, readers, probes):
    publishers, total = await publish(brokers, private, run, rate, duration, n_pub)
    t0, wall0 = time.monotonic(), time.time()
    sse = [SseClient(ports["query"], i < probes, rate / n_pub, wall0) for i in range(readers)]
    connected = [asyncio.Event() for _ in sse]
    for client, event in zip(sse, connected, strict=True):
        client.task = asyncio.create_task(client.run(event))
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in connected)), 120)
    dropped0 = scrape(ports["query"], "tonypi_query_sse_dropped_total")
    meter = CpuMeter({k: procs[k].pid for k in ("query", "projector", "ingest")} | brokers.pids)
    meter.start()
    t0, wall0 = time.monotonic(), time.time()
    for client in sse:
        client.wall0 = wall0
    await asyncio.gather(*(p.run(rate / n_pub, t0) for p in publishers))
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline and min(c.records for c in sse) < total:
        await asyncio.sleep(0.1)
    cpu = meter.stop(total)  # per message published (each reader gets every one)
    for p in publishers:
        await p.close()
    for client in sse:
        client.task.cancel()
    await asyncio.gather(*(c.task for c in sse), return_exceptions=True)
    latencies = sorted(x for c in sse if c.probe for x in c.latencies)
    return {
        "published": total,
        "readers": readers,
        "min_records_per_reader": min(c.records for c in sse),
        "failed_readers": sum(c.failed is not None for c in sse),
        "dropped": int(scrape(ports["query"], "tonypi_query_sse_dropped_total") - dropped0),
        "latency_ms": latency_summary(latencies),
        "latency_samples": len(latencies),
        **cpu,
    }


async def latency(args, brokers, private, run, ports, procs) -> dict:
    result = await _drive(
        args, brokers, private, run, ports, procs, args.rate, args.duration, 50, args.readers, args.readers
    )
    return {"scenario": "latency", "offered_msg_s": args.rate, "seconds": args.duration, **result}


async def clients(args, brokers, private, run, ports, procs, n_clients: int) -> dict:
    result = await _drive(
        args, brokers, private, run, ports, procs, 100.0, args.client_seconds, 10, n_clients, 1
    )
    holds = (
        result["failed_readers"] == 0
        and result["dropped"] == 0
        and result["min_records_per_reader"] >= result["published"]
        and result["latency_ms"]["p99"] < 1000
    )
    return {"scenario": "clients", "clients": n_clients, "offered_msg_s": 100.0, **result, "holds": holds}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=("latency", "clients"), action="append", help="default: both")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--readers", type=int, default=1, help="SSE clients in the latency scenario")
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500, 1000, 2000, 4000])
    parser.add_argument("--client-seconds", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=30.0)
    add_stack_options(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="live-feed-") as tmp:
        brokers = start_brokers(broker_args(args), Path(tmp))
        try:
            for name in args.scenario or ["latency", "clients"]:
                for result in await run_scenario(name, args, brokers, Path(tmp)):
                    print(json.dumps(result), flush=True)
        finally:
            brokers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
