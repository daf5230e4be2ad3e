"""Load for the ingest benchmark: seed-shaped robot messages, and robot connections that
speak just enough MQTT 3.1.1 to publish them cheaply.

Why not paho: the generator shares the 2 cores with ingest, Mosquitto and NATS. A
paho/aiomqtt publish costs tens of microseconds of Python per message; here a message
is a pre-encoded PUBLISH packet written to a socket, so the load costs little CPU and
the benchmark measures ingest, not the generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import struct
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tonypi_cli import fleet

# ---- what robots publish ------------------------------------------------------------


def robot_messages(
    robot_index: int, count: int, start: datetime, rng: random.Random
) -> list[tuple[str, bytes]]:
    """`count` messages in a robot's real mix: sensor bursts, location, battery, status,
    job progress and scans. Each carries a `bench_seq` (an unknown field ingest keeps) so
    no two are identical and JetStream's de-duplication cannot hide a loss."""
    robot = fleet.Robot(f"bench_{robot_index:03d}", generation=1 + robot_index % 2)
    out: list[tuple[str, bytes]] = []
    tick = 0
    while len(out) < count:
        now = start + timedelta(seconds=2 * tick)
        batch = list(fleet.sensor_burst(robot, now, rng))
        if tick % 3 == 0:
            batch.append(fleet.location(robot, now, x=rng.uniform(0, 10), y=rng.uniform(0, 10)))
        if tick % 15 == 0:
            batch.append(fleet.battery(robot, now, rng, percentage=rng.uniform(20, 100)))
        if tick % 30 == 0:
            batch.append(fleet.status(robot, now, rng, uptime_s=2.0 * tick))
        if tick % 10 == 5:
            batch.append(fleet.scan(robot, now, rng.choice((*fleet.DEMO_ITEMS, fleet.UNKNOWN_ITEM))))
            batch.append(fleet.job_progress(robot, now, items_done=tick % 10, items_total=10))
        for message in batch:
            payload = {**message.payload, "bench_seq": len(out)}
            out.append((message.topic, json.dumps(payload).encode()))
        tick += 1
    return out[:count]


# ---- MQTT 3.1.1, publishing side only -----------------------------------------------


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(s: str) -> bytes:
    data = s.encode()
    return struct.pack("!H", len(data)) + data


def connect_packet(client_id: str) -> bytes:
    # Clean session, no keepalive.
    body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0) + _string(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, qos: int, packet_id: int = 0) -> bytes:
    body = _string(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return bytes([0x30 | (qos << 1)]) + _remaining_length(len(body)) + body


@dataclass
class Publisher:
    """One robot connection. QoS 1: at most `window` PUBLISHes await their PUBACK (paho's
    default max_inflight is 20), none awaited alone."""

    client_id: str
    messages: list[tuple[str, bytes]]  # full topic, payload
    qos: int
    window: int = 20
    sent: int = 0
    acked: int = 0
    _reader: asyncio.StreamReader | None = field(default=None, repr=False)
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)

    async def connect(self, host: str, port: int) -> None:
        self._reader, self._writer = await asyncio.open_connection(host, port)
        sock = self._writer.get_extra_info("socket")
        import socket

        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writer.write(connect_packet(self.client_id))
        connack = await self._reader.readexactly(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"{self.client_id}: CONNACK {connack!r}")

    async def run(self, rate: float | None, started: float) -> None:
        """Publish everything, at `rate` messages/s (None: as fast as the socket takes them)."""
        assert self._reader and self._writer
        slots = asyncio.Semaphore(self.window) if self.qos else None
        acks = asyncio.create_task(self._read_acks(slots)) if self.qos else None
        packets = [publish_packet(t, p, self.qos, (i % 65535) + 1) for i, (t, p) in enumerate(self.messages)]
        for i, packet in enumerate(packets):
            if rate:
                due = started + i / rate
                delay = due - time.monotonic()
                if delay > 0.002:
                    await self._writer.drain()
                    await asyncio.sleep(delay)
            if slots is not None:
                await slots.acquire()
            self._writer.write(packet)
            self.sent += 1
            if i % 64 == 63:
                await self._writer.drain()
        await self._writer.drain()
        if acks is not None:
            while self.acked < self.sent:
                await asyncio.sleep(0.01)
            acks.cancel()

    async def _read_acks(self, slots: asyncio.Semaphore) -> None:
        assert self._reader
        while True:
            packet = await self._reader.readexactly(4)
            if packet[0] == 0x40:
                self.acked += 1
                slots.release()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.write(b"\xe0\x00")
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
            self._writer.close()
