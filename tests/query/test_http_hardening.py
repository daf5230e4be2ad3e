"""Issue 8, the query service over HTTP: HEAD wherever GET is allowed, no internal reprs in
error text, header and body read timeouts (the real `tonypi-query` process), and every
DATABASE_URL parameter honoured (TLS included)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import pytest

from tests.support.processes import BIN, ServiceProcess

from .conftest import API
from .events import grant_token

GET_PATHS = [
    f"{API}/robots",
    f"{API}/robots/nobody",
    f"{API}/robots/nobody/telemetry",
    f"{API}/logs",
    f"{API}/jobs/history",
    f"{API}/jobs/1",
    f"{API}/stats",
    "/openapi.json",
    "/metrics",
    "/livez",
    "/readyz",
]


async def test_head_answers_wherever_get_does(api):
    for path in GET_PATHS:
        get = await api.get(path)
        head = await api.head(path)
        assert head.status == get.status, path
        assert await head.read() == b"", path
    refused = await api.request("PATCH", f"{API}/robots")
    assert refused.status == 405 and "HEAD" in refused.headers["Allow"]


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/logs?since=9999-12-31T23:00:00-05:00",
        f"{API}/logs?until=9999-12-31T23:59:59-10:00",
        f"{API}/jobs/history?since=9999-12-31T23:00:00-05:00",
        f"{API}/logs?since=0001-01-01T00:00:00%2B05:00",
    ],
)
async def test_out_of_range_times_are_a_422_without_internals(api, path):
    resp = await api.get(path)
    text = await resp.text()
    assert resp.status == 422, text
    for leak in ("datetime.datetime", "$1", "query argument", "asyncpg", "Traceback"):
        assert leak not in text, text
    assert json.loads(text)["detail"][0]["loc"][0] == "query"


async def _connect_and_wait_for_close(port: int, first_bytes: bytes, deadline: float) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if first_bytes:
            writer.write(first_bytes)
            await writer.drain()
        await asyncio.wait_for(reader.read(), max(0.1, deadline - time.monotonic()))
        return True  # the server closed it
    except TimeoutError:
        return False
    finally:
        writer.close()


@pytest.fixture
async def admin_header(query_env, projector) -> bytes:
    """An Authorization header line for raw requests (the projector has migrated by now)."""
    token = await grant_token(query_env["DATABASE_URL"], "hardening", "admin")
    return f"Authorization: Bearer {token}\r\n".encode()


@pytest.fixture
def query_process(query_env, tmp_path, projector):
    env = {**query_env, "HTTP_HEADER_TIMEOUT": "1", "HTTP_BODY_TIMEOUT": "1"}
    service = ServiceProcess("tonypi-query", env, log_path=tmp_path / "query.log").start()
    service.wait_http_ok(f"http://127.0.0.1:{env['QUERY_PORT']}/readyz")
    yield int(env["QUERY_PORT"])
    service.stop()


async def test_idle_and_slow_connections_are_closed_and_the_service_still_answers(
    query_process, admin_header
):
    port = query_process
    deadline = time.monotonic() + 10  # HTTP_HEADER_TIMEOUT is 1 s
    half_head = b"GET /api/robots-db/robots HTTP/1.1\r\nHost: x\r\n"
    closed = await asyncio.gather(
        *[_connect_and_wait_for_close(port, b"" if i % 2 else half_head, deadline) for i in range(200)]
    )
    assert all(closed), f"{closed.count(False)} of 200 connections still open after 10 s"

    # A body announced and never finished: 408, and the connection closed.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/robots-db/robots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + admin_header
        + b'Content-Length: 100\r\n\r\n{"robot_id":'
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    await asyncio.wait_for(reader.read(), 15)  # then closed (after aiohttp's lingering read, at most 10 s)
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), 10)).startswith(b"HTTP/1.1 200")
    writer.close()


def test_database_url_parameters_reach_the_driver(service_env):
    """PostgreSQL here speaks no TLS: with sslmode=require the connection must fail saying
    so (before, the parameter was dropped and the connection succeeded in clear text)."""
    env = {**os.environ, **service_env}
    cli = [str(BIN / "tonypi"), "projector", "dead-letters"]
    plain = subprocess.run(
        cli,
        env={**env, "DATABASE_URL": env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres?sslmode=disable"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert plain.returncode == 0, plain.stderr
    tls = subprocess.run(
        cli,
        env={**env, "DATABASE_URL": env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres?sslmode=require"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert tls.returncode == 1 and "SSL" in tls.stderr and "sslmode=require" in tls.stderr, tls.stderr
    missing = subprocess.run(
        cli,
        env={
            **env,
            "DATABASE_URL": env["DATABASE_URL"] + "?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 2 and "sslrootcert" in missing.stderr, missing.stderr


async def test_the_query_service_honours_sslmode(query_env, tmp_path):
    env = {**query_env, "DATABASE_URL": query_env["DATABASE_URL"] + "?sslmode=require"}
    service = ServiceProcess("tonypi-query", env, log_path=tmp_path / "query.log").start()
    try:
        deadline = time.monotonic() + 20
        while "SSL" not in service.log_text() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert "SSL" in service.log_text(), service.log_text()
    finally:
        service.stop()
