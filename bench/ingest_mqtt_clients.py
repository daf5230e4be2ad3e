"""How the MQTT client for ingest was chosen, and why QoS 1 crawled at ~100 msg/s.

    .venv/bin/python bench/ingest_mqtt_clients.py

1. One subscriber's raw receive rate (count messages, nothing else): aiomqtt's message
   iterator, paho's callback under aiomqtt (what ingest does), and zmqtt (the client under
   FastStream's MQTT broker); QoS 0 and QoS 1, with 200 raw
   publishers (bench/ingest_load.py) on a private Mosquitto.
2. One publishing connection awaiting each PUBACK, with and without TCP_NODELAY,
   publishing QoS 0 and QoS 1 alternately (as a robot mixing both would).
"""

from __future__ import annotations

import asyncio
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiomqtt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_load import Publisher, robot_messages
from ingest_throughput import MOSQUITTO_CONF, free_port, wait_port

MESSAGES, PUBLISHERS = 30_000, 200
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
_PUBLISHING: set[asyncio.Future] = set()


async def _load(prefix: str, qos: int, port: int) -> float:
    rng = random.Random(1)
    start, per_robot = datetime(2026, 1, 1), MESSAGES // PUBLISHERS
    publishers = [
        Publisher(
            f"p{i}-{prefix}", [(prefix + t, p) for t, p in robot_messages(i, per_robot, start, rng)], qos
        )
        for i in range(PUBLISHERS)
    ]
    for p in publishers:
        await p.connect("127.0.0.1", port)
    started = time.monotonic()
    for p in publishers:  # kept referenced until done: the loop holds tasks only weakly
        task = asyncio.ensure_future(p.run(None, started))
        _PUBLISHING.add(task)
        task.add_done_callback(_PUBLISHING.discard)
    return started


async def receive_rate(library: str, qos: int, port: int) -> float:
    prefix, got, done = f"c{random.randrange(1 << 30)}/", 0, asyncio.Event()

    def count() -> None:
        nonlocal got
        got += 1
        if got == MESSAGES:
            done.set()

    if library == "paho callback":  # ingest's path: aiomqtt connects, paho's callback counts
        client = aiomqtt.Client("127.0.0.1", port, socket_options=NO_DELAY)
        client._client.on_message = lambda *_: count()
        async with client:
            await client.subscribe(prefix + "#", qos=1)
            started = await _load(prefix, qos, port)
            await asyncio.wait_for(done.wait(), 120)
    elif library == "aiomqtt":
        async with aiomqtt.Client("127.0.0.1", port, socket_options=NO_DELAY) as client:
            await client.subscribe(prefix + "#", qos=1)

            async def consume() -> None:
                async for _ in client.messages:
                    count()

            task = asyncio.create_task(consume())
            started = await _load(prefix, qos, port)
            await asyncio.wait_for(done.wait(), 120)
            task.cancel()
    else:
        import zmqtt

        async with (
            zmqtt.MQTTClient("127.0.0.1", port) as client,
            client.subscribe(prefix + "#", qos=zmqtt.QoS(1)) as subscription,
        ):

            async def consume() -> None:
                async for _ in subscription:
                    count()

            task = asyncio.create_task(consume())
            started = await _load(prefix, qos, port)
            await asyncio.wait_for(done.wait(), 120)
            task.cancel()
    return MESSAGES / (time.monotonic() - started)


async def one_publisher_awaiting_each_ack(port: int, nodelay: bool, count: int = 200) -> float:
    async with aiomqtt.Client("127.0.0.1", port, socket_options=NO_DELAY if nodelay else ()) as client:
        started = time.monotonic()
        for n in range(count):
            await client.publish("nagle/test", b"x" * 200, qos=n % 2)
        return count / (time.monotonic() - started)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        # The broker as Mosquitto ships (Nagle on its side too), window and queue opened.
        conf = MOSQUITTO_CONF.format(port=port, inflight=1000, queued=0).replace("set_tcp_nodelay true\n", "")
        Path(tmp, "m.conf").write_text(conf)
        broker = subprocess.Popen(["mosquitto", "-c", f"{tmp}/m.conf"], stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            # The box may be busy: three rounds, interleaved, and the median of each.
            rates: dict[tuple[str, int], list[float]] = {}
            for _ in range(3):
                for library in ("aiomqtt", "paho callback", "zmqtt"):
                    for qos in (0, 1):
                        rates.setdefault((library, qos), []).append(await receive_rate(library, qos, port))
            for (library, qos), values in rates.items():
                print(
                    f"subscriber {library:14s} QoS {qos}: median {statistics.median(values):6.0f} msg/s "
                    f"received (runs: {', '.join(f'{v:.0f}' for v in values)})",
                    flush=True,
                )
            for nodelay in (False, True):
                rate = await one_publisher_awaiting_each_ack(port, nodelay)
                print(
                    f"one publisher, QoS 0/1 alternating, awaiting each publish, TCP_NODELAY={nodelay}: "
                    f"{rate:6.0f} msg/s",
                    flush=True,
                )
        finally:
            broker.terminate()
            broker.wait()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
