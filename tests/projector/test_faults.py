"""Crashes under load: SIGKILL mid-batch, two projectors at once, PostgreSQL restarted.
Each ends with every event applied exactly once and tables equal to a clean replay."""

from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
from tonypi_events import EventType
from tonypi_projector.config import load_settings
from tonypi_projector.replay import replay

from tests.projector.load import Load, assert_applied_exactly_once
from tests.projector.support import checkpoint, event, publish, snapshot, wait_for_checkpoint
from tests.support.ports import free_port
from tests.support.private_postgres import PrivatePostgres
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow


def role(env: dict[str, str]) -> str | None:
    try:
        with urlopen(f"http://127.0.0.1:{env['PROJECTOR_PORT']}/readyz", timeout=1) as resp:
            return json.loads(resp.read())["checks"]["role"]
    except Exception as exc:  # 503 while starting carries the role too
        body = getattr(exc, "read", None)
        return json.loads(body())["checks"]["role"] if body else None


async def wait_role(env: dict[str, str], wanted: str, timeout: float = 20.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if await asyncio.to_thread(role, env) == wanted:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise TimeoutError(f"projector on {env['PROJECTOR_PORT']} not {wanted} within {timeout}s")


async def assert_equals_clean_replay(env: dict[str, str], database_url: str) -> None:
    live = await snapshot(database_url)
    await replay(load_settings(env))
    assert await snapshot(database_url) == live


async def test_sigkill_mid_batch_ten_times_under_load_loses_and_doubles_nothing(
    js, streams, projector_env, database_url, tmp_path: Path
):
    env = {**projector_env, "PROJECTOR_BATCH_SIZE": "50"}
    load = Load(js, streams, total=30000, rate=1000)
    enough = asyncio.Event()
    publisher = asyncio.create_task(load.run(enough))
    proc = ServiceProcess("tonypi-projector", env, log_path=tmp_path / "projector.log").start()
    try:
        for _ in range(10):
            await wait_role(env, "active")
            before = await checkpoint(database_url)
            deadline = time.monotonic() + 10
            while await checkpoint(database_url) == before and time.monotonic() < deadline:
                await asyncio.sleep(0.01)  # until it is applying batches
            await asyncio.sleep(random.uniform(0.02, 0.2))
            assert not publisher.done(), "the load must still be running when the projector is killed"
            proc.kill()
            proc.start()
        enough.set()
        await publisher
        await wait_for_checkpoint(database_url, load.last_seq, timeout=60)
    finally:
        publisher.cancel()
        proc.stop()
    await assert_applied_exactly_once(database_url, load)
    await assert_equals_clean_replay(env, database_url)


async def test_two_projectors_at_once_one_active_standby_takes_over_within_seconds(
    js, streams, projector_env, database_url, tmp_path: Path
):
    env_a = projector_env
    env_b = {**projector_env, "PROJECTOR_PORT": str(free_port())}
    a = ServiceProcess("tonypi-projector", env_a, log_path=tmp_path / "a.log").start()
    await wait_role(env_a, "active")
    b = ServiceProcess("tonypi-projector", env_b, log_path=tmp_path / "b.log").start()
    load = Load(js, streams, total=3000, rate=600)
    publisher = asyncio.create_task(load.run())
    try:
        await wait_role(env_b, "standby")
        await asyncio.sleep(1.5)
        assert role(env_a) == "active" and role(env_b) == "standby"
        a.kill()
        takeover = await wait_role(env_b, "active", timeout=10)
        assert takeover < 3.0, f"standby took {takeover:.1f}s to take over"
        a.start()
        await wait_role(env_a, "standby")
        await publisher
        await wait_for_checkpoint(database_url, load.last_seq, timeout=60)
        assert role(env_a) == "standby" and role(env_b) == "active"
        assert (a.stop(), b.stop()) == (0, 0), "SIGTERM drains and exits 0, active or standby"
    finally:
        publisher.cancel()
        a.stop()
        b.stop()
    await assert_applied_exactly_once(database_url, load)
    await assert_equals_clean_replay(env_b, database_url)


async def test_postgresql_restarted_under_load_the_projector_recovers_by_itself(
    js, streams, projector_env, tmp_path: Path
):
    pg = await asyncio.to_thread(PrivatePostgres().start)
    env = {**projector_env, "DATABASE_URL": pg.url}
    proc = ServiceProcess("tonypi-projector", env, log_path=tmp_path / "projector.log").start()
    load = Load(js, streams, total=3000, rate=600)
    try:
        await wait_role(env, "active")
        publisher = asyncio.create_task(load.run())
        for _ in range(2):
            await asyncio.sleep(1.0)
            await asyncio.to_thread(pg.restart)
        await publisher
        await wait_for_checkpoint(pg.url, load.last_seq, timeout=60)
        assert proc.proc.poll() is None, "the projector must ride out the restart, not exit"
        assert "projection interrupted" in proc.log_text()
        await assert_applied_exactly_once(pg.url, load)
        # Restarted while the projector idles: it notices, and the next event still lands.
        await asyncio.to_thread(pg.restart)
        await wait_role(env, "active")
        seq = await publish(js, streams, event(EventType.LOG, "tonypi_00", {"message": "after idle restart"}))
        await wait_for_checkpoint(pg.url, seq, timeout=30)
        await assert_equals_clean_replay(env, pg.url)
    finally:
        proc.stop()
        await asyncio.to_thread(pg.stop)
