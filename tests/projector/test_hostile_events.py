"""Issue 8, rows 1 and 2 (and hostile bytes in general), at the projector: events published
straight onto the stream, bypassing ingest's admission, each of which PostgreSQL or the
decoder refuses. Each must be dead-lettered on its own, the good events around it applied,
the checkpoint must reach the stream's end, and a replay must do the same and equal live."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import time

import asyncpg
import pytest
from tonypi_events import EventType, decode, encode, robot_token
from tonypi_projector.config import load_settings
from tonypi_projector.replay import STAGING_PREFIX, replay

from tests.projector.conftest import projector_running
from tests.projector.support import event, publish, publish_raw, snapshot, wait_for_checkpoint
from tests.projector.test_live_projection import metric, scrape
from tests.support.processes import BIN


def _nested(depth: int) -> bytes:
    head = b'{"event_id":"deep","event_type":"status","schema_version":1,"robot_id":"deep",'
    head += b'"received_at":"2026-11-26T10:00:00+00:00","source":"x","payload":{"robot_id":"deep","status":'
    return head + b"[" * depth + b"]" * depth + b"}}"


def hostile_events() -> list[tuple[str, bytes]]:
    """(what, raw bytes on the stream): each breaks PostgreSQL or the decoder by design."""
    incompressible = secrets.token_hex(5120)  # 10 KiB that TOAST cannot shrink into an index row
    return [
        ("NUL in a robot id (row 1)", encode(event(EventType.BATTERY, "c36\x00x", {"percentage": 1}))),
        ("10 KiB status (row 2)", encode(event(EventType.STATUS, "r-status", {"status": incompressible}))),
        (
            "10 KiB log level (row 2)",
            encode(event(EventType.LOG, "r-level", {"message": "m", "level": incompressible})),
        ),
        (
            "3,000-character robot id (row 2)",
            encode(event(EventType.STATUS, secrets.token_hex(1500), {"status": "online"})),
        ),
        (
            "NUL in a log message",
            encode(event(EventType.LOG, "r-mixed", {"message": "a\x00b", "source": "main"})),
        ),
        (
            "lone surrogate in a robot id",
            encode(event(EventType.STATUS, "surPLACE", {"status": "online"})).replace(b"PLACE", rb"\ud800"),
        ),
        ("not JSON", b"\xff\xfe{not json"),
        ("nested past any recursion limit", _nested(100_000)),
        ("nested 1,000 levels", _nested(1000)),
    ]


async def publish_claimed(js, streams, raw: bytes, fallback: str) -> int:
    """On the subject the event claims (so the subject vouches for it and what refuses it is
    PostgreSQL or the fold, not tonypi_events.authority); robot `fallback`'s status subject
    when the bytes do not decode or name a robot no subject can spell."""
    try:
        claimed = decode(raw)
        token, kind = robot_token(claimed.robot_id), claimed.event_type.value
    except Exception:
        token, kind = fallback, "status"
    return await publish_raw(js, streams, token, raw, kind)


async def _publish_interleaved(js, streams) -> tuple[dict[int, str], list[int], int]:
    """Good status events between hostile ones; returns (bad seq -> what, good seqs, last seq)."""
    bad: dict[int, str] = {}
    good: list[int] = []
    good.append(await publish(js, streams, event(EventType.STATUS, "r-mixed", {"status": "online"})))
    for i, (what, raw) in enumerate(hostile_events()):
        bad[await publish_claimed(js, streams, raw, f"hostile{i}")] = what
        good.append(await publish(js, streams, event(EventType.STATUS, f"good-{i}", {"status": "online"})))
    good.append(await publish(js, streams, event(EventType.STATUS, "r-mixed", {"status": "busy"})))
    good.append(
        await publish(js, streams, event(EventType.LOG, "r-mixed", {"message": "after", "source": "main"}))
    )
    return bad, good, good[-1]


async def _tables(database_url: str) -> dict:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            "robots": {
                r["robot_id"]: r["status"] for r in await conn.fetch("SELECT robot_id, status FROM robots")
            },
            "dead": {
                r["stream_seq"]: dict(r)
                for r in await conn.fetch(
                    "SELECT stream_seq, robot_id, error, raw FROM projection_dead_letters"
                )
            },
            "mixed_logs": [
                r["message"]
                for r in await conn.fetch(
                    "SELECT message FROM system_logs WHERE robot_id = 'r-mixed' AND category = 'robot_main' "
                    "ORDER BY id"
                )
            ],
            "staging": await conn.fetchval(
                "SELECT count(*) FROM pg_namespace WHERE starts_with(nspname, $1)", STAGING_PREFIX
            ),
        }
    finally:
        await conn.close()


def _assert_isolated(tables: dict, bad: dict[int, str], n_good: int) -> None:
    assert set(tables["dead"]) == set(bad), {bad.get(s, s) for s in set(tables["dead"]) ^ set(bad)}
    for seq, row in tables["dead"].items():
        assert row["error"], bad[seq]
        assert "\x00" not in row["error"] and "\x00" not in (row["robot_id"] or ""), bad[seq]
        assert len(row["error"]) <= 2000 and len(row["robot_id"] or "") <= 256
        assert row["raw"], "the raw bytes are kept"
    robots = tables["robots"]
    assert robots["r-mixed"] == "busy"  # the good events after a bad one of the same robot
    assert all(robots[f"good-{i}"] == "online" for i in range(n_good)), robots
    assert not any("\x00" in r or len(r) > 128 for r in robots)
    assert tables["mixed_logs"] == ["after"]


async def test_each_hostile_event_is_dead_lettered_alone_and_the_stream_goes_on(
    js, streams, projector_env, database_url
):
    # Published before the projector starts: everything arrives in one batch, so each bad
    # event must be isolated from the good ones of the same batch.
    bad, _good, last = await _publish_interleaved(js, streams)
    async with projector_running(projector_env):
        await wait_for_checkpoint(database_url, last)
        text = await asyncio.to_thread(scrape, projector_env)
        ready = json.loads(await asyncio.to_thread(scrape, projector_env, "/readyz"))
    tables = await _tables(database_url)
    _assert_isolated(tables, bad, len(hostile_events()))
    assert metric(text, "tonypi_projector_dead_letters_total") >= len(bad)
    assert ready["status"] == "ready" and "caught up" in ready["checks"]["projection"]

    listed = subprocess.run(
        [str(BIN / "tonypi"), "projector", "dead-letters", "--limit", "100"],
        env={**os.environ, **projector_env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listed.returncode == 0, listed.stderr
    listed_seqs = {int(line.split()[0]) for line in listed.stdout.splitlines()[1:]}
    assert listed_seqs == set(bad)
    assert "\x00" not in listed.stdout

    # tonypi replay meets the same events: it must finish, dead-letter the same ones,
    # leave no staging schema and equal the live tables.
    live = await snapshot(database_url)
    result = await replay(load_settings(projector_env), batch_size=500)
    assert result.last_seq == last
    assert await snapshot(database_url) == live
    tables = await _tables(database_url)
    _assert_isolated(tables, bad, len(hostile_events()))
    assert tables["staging"] == 0


async def test_a_batch_of_only_hostile_events_still_moves_the_checkpoint(
    js, streams, projector_env, database_url
):
    seqs = [await publish_claimed(js, streams, raw, f"h{i}") for i, (_, raw) in enumerate(hostile_events())]
    async with projector_running(projector_env):
        await wait_for_checkpoint(database_url, seqs[-1])
    assert set((await _tables(database_url))["dead"]) == set(seqs)


async def _staging_schemas(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", STAGING_PREFIX
        )
        return [r["nspname"] for r in rows]
    finally:
        await conn.close()


async def test_a_replay_that_fails_drops_its_staging_schema(js, streams, projector_env, database_url):
    last = 0
    for i in range(300):
        last = await publish(
            js, streams, event(EventType.SENSOR, f"r{i % 7}", {"sensor_type": "t", "value": i})
        )
    settings = load_settings(projector_env)

    def fail_midway(done: int, total: int) -> None:
        raise RuntimeError("interrupted by the test")

    with pytest.raises(RuntimeError, match="interrupted by the test"):
        await replay(settings, batch_size=50, on_progress=fail_midway)
    assert await _staging_schemas(database_url) == []

    # The replay's own database connection killed mid-way: dropped on a new connection.
    killed = asyncio.Event()

    async def kill_replay_connection() -> None:
        admin = await asyncpg.connect(database_url)
        try:
            while not await admin.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE starts_with(nspname, $1))", STAGING_PREFIX
            ):
                await asyncio.sleep(0.01)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            killed.set()
        finally:
            await admin.close()

    def slow_down(done: int, total: int) -> None:
        if not killed.is_set():
            time.sleep(0.02)  # the replay's pace, so the kill lands mid-way, not after the swap

    killer = asyncio.create_task(kill_replay_connection())
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await replay(settings, batch_size=10, on_progress=slow_down)
    await killer
    assert await _staging_schemas(database_url) == []
    # and a replay after both still works
    assert (await replay(settings, batch_size=100)).last_seq == last
