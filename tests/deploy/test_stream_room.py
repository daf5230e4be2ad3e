"""The streams are declared by an admin step, `tonypi streams declare`, and only there (the
services' NATS users may not create one: auth.conf).

On a nats-server with less storage than the streams reserve (nats-server reserves each
stream's max_bytes up front, from 75 % of the free disk unless max_file_store says
otherwise; a CI box once had less than production's 50 GiB), the declare step stops with
one line naming the variable to lower and exit 2. The services, started before anyone
declared the streams, wait: /readyz answers 503 naming the missing stream, and they become
ready once the streams are declared."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import asyncpg
import pytest
from tonypi_runtime.nats_client import not_declared
from tonypi_runtime.postgres import quote_ident

from tests.conftest import PG_ADMIN_URL
from tests.deploy.test_brokers import wait_for_port
from tests.support.ports import free_port
from tests.support.processes import BIN, ServiceProcess
from tests.support.tools import tool

ROOM = "512MB"  # the tests' streams (256 MiB + 16 MiB) fit; production's (50 GiB + 1 GiB) do not


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


def declare(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "tonypi"), "streams", "declare", "--wait", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def on(env: dict[str, str], nats_url: str, *, production_sizes: bool = False) -> dict[str, str]:
    """The test's own names and database on `nats_url`; production's stream sizes if asked."""
    dropped = ("EVENTS_MAX_BYTES", "DEAD_LETTER_MAX_BYTES") if production_sizes else ()
    return {**os.environ, **{k: v for k, v in env.items() if k not in dropped}, "NATS_URL": nats_url}


def test_declare_stops_with_one_line_naming_the_variable_when_the_streams_do_not_fit(small_nats, service_env):
    done = declare(on(service_env, small_nats, production_sizes=True))
    assert done.returncode == 2, done
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("tonypi streams declare: configuration error: NATS JetStream cannot reserve"), line
    assert "set EVENTS_MAX_BYTES lower" in line
    assert "Traceback" not in done.stderr


def test_declare_is_idempotent(small_nats, service_env):
    env = on(service_env, small_nats)
    for _ in range(2):
        done = declare(env)
        assert done.returncode == 0, done
        assert f"streams declared: {service_env['EVENTS_STREAM']}" in done.stdout


def readyz(port: str) -> tuple[int, dict]:
    try:
        with urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:  # not listening yet
        return 0, {}


async def wait_readyz(service: ServiceProcess, port: str, want, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await asyncio.to_thread(readyz, port)
        if want(status, body):
            return body
        assert service.proc.poll() is None, service.log_text()
        assert time.monotonic() < deadline, (status, body, service.log_text())
        await asyncio.sleep(0.1)


async def _database(database_url: str) -> None:
    """The database the projector would have made, for the query service on its own."""
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()


@pytest.mark.parametrize(
    ("script", "port_variable", "check"),
    [
        ("tonypi-projector", "PROJECTOR_PORT", "streams"),
        ("tonypi-ingest", "INGEST_PORT", "jetstream"),
        ("tonypi-query", "QUERY_PORT", "nats"),
    ],
)
async def test_a_service_waits_for_the_streams_and_says_which_is_missing(
    script, port_variable, check, small_nats, service_env, database_url, tmp_path
):
    env = on(service_env, small_nats)
    if script == "tonypi-query":
        await _database(database_url)
    service = ServiceProcess(script, env, log_path=tmp_path / "service.log").start()
    port = env[port_variable]
    missing = not_declared([env["EVENTS_STREAM"], env["DEAD_LETTER_STREAM"]])
    try:
        body = await wait_readyz(service, port, lambda _, b: missing in b.get("checks", {}).get(check, ""))
        # The query service goes on serving reads (ready), with writes off; the others are not ready.
        status, _ = await asyncio.to_thread(readyz, port)
        assert status == (200 if script == "tonypi-query" else 503), body
        assert "not declared" in service.log_text()
        assert (await asyncio.to_thread(declare, env)).returncode == 0
        await wait_readyz(service, port, lambda s, b: s == 200 and missing not in json.dumps(b))
    finally:
        assert service.stop() == 0, service.log_text()
