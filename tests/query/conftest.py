"""The query service's fixtures: the real projector as a subprocess (it creates and fills the
test's database from real events) and the query app in-process on a real port."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from tonypi_query.bootstrap import build_app, init_app
from tonypi_query.config import load_settings

from tests.support.processes import ServiceProcess

from .events import Fleet
from .fakes import FakeReads, FakeWrites

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


async def _serve(env: dict[str, str]):
    app = build_app(load_settings(env))
    client = TestClient(TestServer(app, host="127.0.0.1", port=int(env["QUERY_PORT"])))
    await client.start_server()
    return client


@pytest.fixture
async def api(query_env, projector):
    """An HTTP client for the query app, served in-process on the test's QUERY_PORT."""
    client = await _serve(query_env)
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
    async with TestClient(TestServer(init_app(load_settings({}), fake_reads, fake_writes))) as client:
        yield client
