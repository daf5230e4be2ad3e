"""Fixtures for the projector's tests: this test's streams, and a projector run in-process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiohttp
import pytest
from tonypi_projector import bootstrap
from tonypi_projector.config import load_settings

from tests.support.processes import ServiceProcess


@pytest.fixture
def projector_env(service_env) -> dict[str, str]:
    return {**service_env, "PROJECTOR_BATCH_SIZE": "200", "PROJECTOR_STANDBY_POLL": "0.2"}


async def wait_ready(env: dict[str, str], task: asyncio.Task, timeout: float = 30.0) -> None:
    """Until /readyz answers 200: database created and migrated, streams there, a role taken."""
    url = f"http://127.0.0.1:{env['PROJECTOR_PORT']}/readyz"
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("the projector stopped before it was ready")
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"projector not ready within {timeout}s")


@contextlib.asynccontextmanager
async def projector_running(env: dict[str, str]):
    """A projector in this process (same code path as the console script), stopped on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(bootstrap.run(load_settings(env), stop))
    try:
        await wait_ready(env, task)
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


@pytest.fixture
async def projector(streams, projector_env):
    async with projector_running(projector_env) as task:
        yield task


@pytest.fixture
async def ingest_process(streams, projector_env, tmp_path: Path):
    """A real `tonypi-ingest` process with this test's names and ports, ready."""
    process = ServiceProcess("tonypi-ingest", projector_env, log_path=tmp_path / "ingest.log").start()
    try:
        await process.async_wait_http_ok(f"http://127.0.0.1:{projector_env['INGEST_PORT']}/readyz")
        yield process
    finally:
        process.stop()
