"""The query service's fixtures: the real projector as a subprocess (it creates and fills the
test's database from real events) and the query app in-process on a real port."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tonypi_query.bootstrap import build_app, init_app
from tonypi_query.config import load_settings
from tonypi_runtime.postgres import quote_ident

from tests.conftest import PG_ADMIN_URL
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

from .events import Fleet, grant_token, publish_token
from .fake_writes import FakeWrites
from .fakes import FakeReads, grant

API = "/api/robots-db"


@pytest.fixture
def query_env(service_env: dict[str, str]) -> dict[str, str]:
    return {
        **service_env,
        # generous: a machine loaded by other suites must not turn read-your-writes into 202s
        "WRITE_WAIT_TIMEOUT": "30",
        "PROJECTOR_FETCH_TIMEOUT": "0.02",
        "FLEET_GAUGE_INTERVAL": "1",
    }


class Projector:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: ServiceProcess | None = None

    async def start(self) -> None:
        self.process = ServiceProcess("tonypi-projector", self.env, log_path=self.log_path).start()
        await self.process.async_wait_http_ok(f"http://127.0.0.1:{self.env['PROJECTOR_PORT']}/readyz")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
async def projector(query_env, tmp_path, js):
    """The real projector; `js` (root conftest) deletes the test's streams afterwards."""
    running = Projector(query_env, tmp_path / "projector.log")
    await running.start()
    yield running
    running.stop()


@pytest.fixture
async def fleet(js, stream_names, database_url, projector) -> Fleet:
    return Fleet(js, stream_names, database_url)


async def _serve(env: dict[str, str], token: str | None = None, *, anonymous: bool = False):
    """The app, with a client that sends `token` on every request; without one, an operator
    token made for the test in the database (`grant_token`), unless `anonymous`."""
    if token is None and not anonymous:
        token = await grant_token(env["DATABASE_URL"], f"test-operator-{uuid.uuid4().hex[:6]}", "operator")
    app = build_app(load_settings(env))
    headers = {"Authorization": f"Bearer {token}"} if token else None
    client = TestClient(TestServer(app, host="127.0.0.1", port=int(env["QUERY_PORT"])), headers=headers)
    await client.start_server()
    return client


@pytest.fixture
async def bare_api(query_env, database_url, js):
    """The query app over an empty database (the projector's migrations, no projector) with an
    admin token: for requests refused before they reach a read table."""
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()
    client = await _serve(query_env, await grant_token(database_url, "test-admin", "admin"))
    yield client
    await client.close()


@pytest.fixture
async def admin_token(js, stream_names, database_url, projector) -> str:
    """An admin token, made as `tonypi token create` makes it: an event the projector applies."""
    return await publish_token(js, stream_names, database_url, "test-admin", "admin")


@pytest.fixture
async def api(query_env, admin_token):
    """An HTTP client for the query app, served in-process on the test's QUERY_PORT, sending
    an admin token on every request."""
    client = await _serve(query_env, admin_token)
    yield client
    await client.close()


@pytest.fixture
async def anonymous_api(query_env, projector):
    """The same app, on a port of its own, with a client that sends no token."""
    client = await _serve({**query_env, "QUERY_PORT": str(free_port())}, anonymous=True)
    yield client
    await client.close()


@pytest.fixture
def fake_reads() -> FakeReads:
    return FakeReads()


@pytest.fixture
def fake_writes(fake_reads) -> FakeWrites:
    return FakeWrites(fake_reads)


@pytest.fixture
async def fake_api(fake_reads, fake_writes):
    """The query app over in-memory reads and writes (no database, no NATS): for what the
    HTTP layer decides on its own, validation and error mapping."""
    token = grant(fake_reads, "test-admin", "admin")
    app = init_app(load_settings({}), fake_reads, fake_writes)
    async with TestClient(TestServer(app), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client
