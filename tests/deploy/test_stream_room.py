"""A nats-server with less storage than the streams reserve (nats-server reserves each
stream's max_bytes up front, from 75 % of the free disk unless max_file_store says
otherwise; a CI box once had less than production's 50 GiB). The projector and ingest stop
with one line naming the variable to lower, exit 2, and do not retry forever; the query
service goes on serving reads with writes disabled and says why."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import asyncpg
import pytest
from tonypi_runtime.postgres import quote_ident

from tests.conftest import PG_ADMIN_URL
from tests.deploy.test_brokers import wait_for_port
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess
from tests.support.tools import tool

ROOM = "64MB"  # production's default streams (50 GiB + 1 GiB) do not fit


@pytest.fixture
def small_nats(tmp_path: Path):
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(
        f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{tmp_path / "js"}", max_file_store: {ROOM} }}\n'
    )
    log = tmp_path / "nats.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([tool("nats-server"), "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, log)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def without_stream_sizes(env: dict[str, str], nats_url: str) -> dict[str, str]:
    """The test's own names and database, production's stream sizes."""
    limited = {k: v for k, v in env.items() if k not in ("EVENTS_MAX_BYTES", "DEAD_LETTER_MAX_BYTES")}
    return {**limited, "NATS_URL": nats_url}


@pytest.mark.parametrize("script", ["tonypi-projector", "tonypi-ingest"])
def test_a_service_stops_with_one_line_naming_the_variable(script, small_nats, service_env, tmp_path):
    service = ServiceProcess(
        script, without_stream_sizes(service_env, small_nats), log_path=tmp_path / "service.log"
    ).start()
    try:
        code = service.proc.wait(60)
    finally:
        service.stop()
    log = service.log_text()
    assert code == 2, log
    [line] = [x for x in log.splitlines() if "configuration error" in x]
    assert line.startswith(f"{script}: configuration error: NATS JetStream cannot reserve"), line
    assert "set EVENTS_MAX_BYTES lower" in line
    assert "Traceback" not in log


async def test_the_query_service_serves_reads_and_says_writes_are_off(
    small_nats, service_env, database_url, tmp_path
):
    env = without_stream_sizes(service_env, small_nats)
    admin = await asyncpg.connect(PG_ADMIN_URL)  # the database the projector would have made
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()
    service = ServiceProcess("tonypi-query", env, log_path=tmp_path / "query.log").start()
    try:
        readyz = f"http://127.0.0.1:{env['QUERY_PORT']}/readyz"
        await service.async_wait_http_ok(f"http://127.0.0.1:{env['QUERY_PORT']}/livez")
        deadline = time.monotonic() + 30
        while "writes stay disabled" not in service.log_text():
            assert time.monotonic() < deadline, service.log_text()
            assert service.proc.poll() is None, service.log_text()
            await asyncio.sleep(0.1)
        assert "set EVENTS_MAX_BYTES lower" in service.log_text()
        try:
            with urlopen(readyz, timeout=5) as resp:
                status, body = resp.status, resp.read().decode()
        except HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        assert "writes answer 503" in body, (status, body)
    finally:
        assert service.stop() == 0, service.log_text()
