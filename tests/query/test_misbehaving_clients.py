"""Issue 18, rows 5-7, against the real `tonypi-query` process: a client that hangs up is
counted as such (499, never a 5xx, never "database unavailable"); malformed request heads
get a 400 and one throttled WARNING naming the client, never a traceback; on SIGTERM every
live-feed stream ends within a second and the process exits, with 100 clients connected."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import pytest

from tests.support.processes import ServiceProcess

from .events import grant_token

EVENTS = "/api/robots-db/events"


@pytest.fixture
async def service(request, query_env, tmp_path, projector):
    # A short heartbeat finds a reader that left quickly; the SIGTERM test uses a long one, so
    # a stream that only ended at its next heartbeat would fail it.
    heartbeat = getattr(request, "param", "0.3")
    env = {**query_env, "SSE_HEARTBEAT": heartbeat}
    process = ServiceProcess("tonypi-query", env, log_path=tmp_path / "query.log").start()
    await process.async_wait_http_ok(f"http://127.0.0.1:{env['QUERY_PORT']}/readyz")
    token = await grant_token(env["DATABASE_URL"], "misbehaving", "admin")
    yield process, int(env["QUERY_PORT"]), f"Authorization: Bearer {token}\r\n".encode()
    process.stop()


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


async def _metrics(port: int) -> str:
    body = await _raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return body.decode()


def _sum(metrics: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def _open_stream(port: int, auth: bytes):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {EVENTS} HTTP/1.1\r\nHost: x\r\n".encode() + auth + b"\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"retry: 1000\n\n"), 15)
    assert head.startswith(b"HTTP/1.1 200"), head
    return reader, writer


async def test_hanging_up_is_not_an_error(service):
    process, port, auth = service
    _, writer = await _open_stream(port, auth)
    writer.close()  # an SSE reader leaves; the next heartbeat finds the socket gone

    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/robots-db/robots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + auth
        + b'Content-Length: 100\r\n\r\n{"robot_id": "r1",'  # 18 of its 100 bytes
    )
    await writer.drain()
    writer.close()

    async def both_counted() -> str | None:
        text = await _metrics(port)
        gone = _sum(text, "tonypi_query_client_disconnects_total", route=EVENTS)
        cut = _sum(text, "tonypi_query_client_disconnects_total", route="/api/robots-db/robots")
        return text if gone >= 1 and cut >= 1 else None

    metrics = await _until(both_counted)
    assert metrics, await _metrics(port)
    assert _sum(metrics, "tonypi_query_requests_total", status="499") >= 2
    assert not re.search(r'tonypi_query_requests_total\{[^}]*status="5\d\d"', metrics)
    log = process.log_text()
    assert "database unavailable" not in log and "WARNING" not in log and "Traceback" not in log, log
    assert "hung up" in log


MALFORMED = [
    b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",  # NUL in a header
    b"GET /livez?" + b"a" * 70 * 1024 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # a 70 KiB line
    b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(500)) + b"\r\n",
    b"GET /livez HTTP/1.1\nHost: x\n\n",  # bare LF
    b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
]


async def test_malformed_heads_get_a_400_and_one_warning_line(service):
    process, port, _ = service
    for request in MALFORMED:
        answer = await _raw(port, request)
        assert re.match(rb"HTTP/1\.[01] 400 ", answer), (request[:40], answer[:200])
    metrics = await _metrics(port)
    assert _sum(metrics, "tonypi_query_malformed_requests_total") == len(MALFORMED)
    log = process.log_text()
    assert "Traceback" not in log and "ERROR" not in log, log
    lines = [line for line in log.splitlines() if "malformed HTTP request from 127.0.0.1" in line]
    assert len(lines) == 1 and "WARNING" in lines[0], log  # throttled: one line per 10 s
    answer = await _raw(port, b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("service", ["30"], indirect=True)
async def test_sigterm_ends_100_live_streams_within_a_second(service):
    process, port, auth = service
    streams = await asyncio.gather(*[_open_stream(port, auth) for _ in range(100)])

    async def ended(reader) -> float:
        while await reader.read(65536):
            pass
        return time.monotonic()

    waits = [asyncio.create_task(ended(reader)) for reader, _ in streams]
    started = time.monotonic()
    process.proc.send_signal(signal.SIGTERM)
    done = await asyncio.gather(*[asyncio.wait_for(w, 5) for w in waits])
    assert max(done) - started < 1.0, max(done) - started
    code = await asyncio.to_thread(process.proc.wait, 5)
    exited = time.monotonic() - started
    # Under 3 s is the supervisor's budget; under SHUTDOWN_GRACE (1.5 s) shows the streams'
    # handlers ended by themselves instead of being cut off when the grace ran out.
    assert code == 0 and exited < 1.4, (exited, process.log_text())
    for _, writer in streams:
        writer.close()
