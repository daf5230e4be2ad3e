"""Issue 8: a stuck projector is visible. Lag is the stream's end minus the checkpoint and
keeps growing while nothing commits; the stall gauge counts how long; /readyz says so."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.error import HTTPError

import asyncpg
from tonypi_events import EventType

from tests.projector.conftest import projector_running
from tests.projector.support import event, publish, wait_for_checkpoint
from tests.projector.test_live_projection import metric, scrape


def _readyz(env: dict[str, str]) -> tuple[int, dict]:
    try:
        body = scrape(env, "/readyz")
        return 200, json.loads(body)
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def _until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(condition)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise TimeoutError("condition not met")


async def test_a_stuck_projector_shows_growing_lag_a_stall_and_an_honest_readyz(
    js, streams, projector_env, database_url
):
    env = {**projector_env, "PROJECTOR_PROGRESS_INTERVAL": "0.2", "PROJECTOR_STALL_SECONDS": "2"}
    async with projector_running(env):
        seq = await publish(js, streams, event(EventType.STATUS, "r1", {"status": "online"}))
        await wait_for_checkpoint(database_url, seq)
        blocker = await asyncpg.connect(database_url)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE robots IN ACCESS EXCLUSIVE MODE")  # the batch waits
                for i in range(20):
                    last = await publish(js, streams, event(EventType.STATUS, "r1", {"status": f"s{i}"}))
                _status, ready = await _until(lambda: (r := _readyz(env))[0] == 503 and r)
                assert "STALLED" in ready["checks"]["projection"], ready
                assert ready["checks"]["database"] == "ok", ready  # it answers; it is the batch that waits
                text = await asyncio.to_thread(scrape, env)
                assert metric(text, "tonypi_projector_lag_events") == last - seq
                assert metric(text, "tonypi_projector_stalled_seconds") >= 2
                assert metric(text, "tonypi_projector_stream_last_sequence") == last
        finally:
            await blocker.close()
        await wait_for_checkpoint(database_url, last)
        await _until(lambda: _readyz(env)[0] == 200)
        text = await asyncio.to_thread(scrape, env)
        assert metric(text, "tonypi_projector_lag_events") == 0
        assert metric(text, "tonypi_projector_stalled_seconds") == 0
