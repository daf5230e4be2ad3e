"""The live projector against real NATS JetStream and PostgreSQL: poison events, gaps,
a restored backup, a fresh database, migrations, ops endpoints, retention."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.request import urlopen

import asyncpg
from tonypi_events import EventEnvelope, EventType
from tonypi_projector.config import load_settings
from tonypi_projector.migrations import apply_migrations, ensure_database, migration_files
from tonypi_projector.replay import replay
from tonypi_runtime.postgres import quote_ident

from tests.projector.conftest import projector_running
from tests.projector.support import event, publish, publish_raw, snapshot, wait_for_checkpoint
from tests.support.processes import BIN


def scrape(env: dict[str, str], path: str = "/metrics") -> str:
    with urlopen(f"http://127.0.0.1:{env['PROJECTOR_PORT']}{path}", timeout=5) as resp:
        return resp.read().decode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not on /metrics")


async def test_poison_events_are_dead_lettered_listed_and_later_events_still_apply(
    js, streams, projector, projector_env, database_url
):
    good = event(EventType.STATUS, "r1", {"status": "online"})
    await publish(js, streams, good)
    garbage = await publish_raw(js, streams, "r1", b"{not json")
    future = EventEnvelope(
        **{**event(EventType.STATUS, "r1", {"status": "online"}).model_dump(), "schema_version": 7}
    )
    future_seq = await publish(js, streams, future)
    # Valid for pydantic, refused by PostgreSQL (items_total is an INTEGER column): isolated too.
    too_big = await publish(
        js, streams, event(EventType.JOB, "r1", {"status": "started", "items_total": 2**40}, version=2)
    )
    last = await publish(
        js, streams, event(EventType.LOG, "r1", {"message": "after the poison", "source": "main"})
    )
    await wait_for_checkpoint(database_url, last)

    conn = await asyncpg.connect(database_url)
    try:
        dead = await conn.fetch("SELECT stream_seq, error FROM projection_dead_letters ORDER BY stream_seq")
        messages = [r["message"] for r in await conn.fetch("SELECT message FROM system_logs ORDER BY id")]
    finally:
        await conn.close()
    assert [r["stream_seq"] for r in dead] == [garbage, future_seq, too_big]
    # items_total past INTEGER: refused by the payload bound (issue 8) before PostgreSQL could
    assert "v7" in dead[1]["error"] and "2147483647" in dead[2]["error"]
    assert messages[-1] == "after the poison"
    assert metric(await asyncio.to_thread(scrape, projector_env), "tonypi_projector_dead_letters_total") >= 3

    out = subprocess.run(
        [str(BIN / "tonypi"), "projector", "dead-letters"],
        env={**os.environ, **projector_env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert str(garbage) in out.stdout and "v7" in out.stdout and "2147483647" in out.stdout
    out = subprocess.run(
        [str(BIN / "tonypi"), "projector", "dead-letters", "--json", "--limit", "1"],
        env={**os.environ, **projector_env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert [json.loads(line)["stream_seq"] for line in out.stdout.splitlines()] == [too_big]


async def test_ops_endpoints_and_metrics(js, streams, projector, projector_env, database_url):
    seq = 0
    for i in range(30):
        seq = await publish(js, streams, event(EventType.SENSOR, "r1", {"sensor_type": "x", "value": i}))
    await wait_for_checkpoint(database_url, seq)
    assert json.loads(await asyncio.to_thread(scrape, projector_env, "/livez"))["status"] == "alive"
    ready = json.loads(await asyncio.to_thread(scrape, projector_env, "/readyz"))
    assert ready["status"] == "ready" and ready["checks"]["role"] == "active"
    text = await asyncio.to_thread(scrape, projector_env)
    assert metric(text, "tonypi_projector_checkpoint_sequence") == seq
    assert metric(text, "tonypi_projector_active") == 1
    assert 'tonypi_projector_events_applied_total{event_type="sensor"}' in text
    for name in (
        "tonypi_projector_batch_size_bucket",
        "tonypi_projector_batch_apply_seconds_bucket",
        "tonypi_projector_lag_events",
        "tonypi_projector_events_lost_total",
        "tonypi_projector_logs_pruned_total",
    ):
        assert name in text


async def test_a_fresh_database_against_an_old_stream_catches_up_fully(
    js, streams, projector_env, database_url
):
    last = 0
    for i in range(1500):
        last = await publish(
            js, streams, event(EventType.LOG, f"r{i % 7}", {"message": f"m{i}", "source": "main"})
        )
    async with projector_running(projector_env):  # DATABASE_URL names a database that does not exist yet
        await wait_for_checkpoint(database_url, last, timeout=60)
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM system_logs WHERE category = 'robot_main'") == 1500
        assert (
            await conn.fetchval(
                "SELECT count(DISTINCT message) FROM system_logs WHERE category = 'robot_main'"
            )
            == 1500
        )
        assert await conn.fetchval("SELECT count(*) FROM robots") == 7
    finally:
        await conn.close()


async def test_events_dropped_by_retention_are_reported_and_the_rest_applies(
    js, streams, projector_env, database_url
):
    await js.update_stream(replace(streams.events_config(), max_msgs=5))
    for i in range(12):
        await publish(js, streams, event(EventType.LOG, "r1", {"message": f"m{i}"}))
    async with projector_running(projector_env):
        await wait_for_checkpoint(database_url, 12)
        text = await asyncio.to_thread(scrape, projector_env)
    assert metric(text, "tonypi_projector_events_lost_total") >= 7
    conn = await asyncpg.connect(database_url)
    try:
        messages = [
            r["message"]
            for r in await conn.fetch(
                "SELECT message FROM system_logs WHERE category='robot_unknown' ORDER BY id"
            )
        ]
    finally:
        await conn.close()
    assert messages == [f"m{i}" for i in range(7, 12)]


async def test_the_checkpoint_not_the_consumer_decides_where_a_restored_backup_resumes(
    js, streams, projector_env, database_url, run_id
):
    backup = f"tonypi_test_{run_id}_backup"
    backup_url = database_url.rsplit("/", 1)[0] + f"/{backup}"
    admin = await asyncpg.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        async with projector_running(projector_env):
            for i in range(50):
                seq = await publish(js, streams, event(EventType.SCAN, f"r{i % 3}", {"qr": f"Q{i}"}))
            await wait_for_checkpoint(database_url, seq)
        live = await quote_ident(admin, database_url.rsplit("/", 1)[1])
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, backup)} TEMPLATE {live}")  # backup
        async with projector_running(projector_env):
            for i in range(50, 120):
                seq = await publish(js, streams, event(EventType.SCAN, f"r{i % 3}", {"qr": f"Q{i}"}))
            await wait_for_checkpoint(database_url, seq)
        # Restore: the durable consumer on the server has acked everything; the backup's checkpoint says 50.
        async with projector_running({**projector_env, "DATABASE_URL": backup_url}):
            await wait_for_checkpoint(backup_url, seq)
        assert await snapshot(backup_url) == await snapshot(database_url)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {await quote_ident(admin, backup)} WITH (FORCE)")
        await admin.close()


async def test_migrations_are_idempotent_and_safe_when_two_projectors_start_at_once(database_url):
    settings = load_settings({"DATABASE_URL": database_url})
    created = await asyncio.gather(ensure_database(settings.database), ensure_database(settings.database))
    assert sorted(created) == [False, True]
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(apply_migrations(c) for c in conns))
        every = [version for version, _ in migration_files()]
        assert "0001_read_tables" in every
        assert sorted(applied, key=len) == [[], [], every]  # one applied them all, the others waited
        assert await apply_migrations(conns[0]) == []
        versions = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == every
    finally:
        for c in conns:
            await c.close()


async def test_retention_prunes_old_logs_and_a_replay_still_equals_the_live_tables(
    js, streams, projector_env, database_url
):
    env = {**projector_env, "LOG_RETENTION_DAYS": "30", "LOG_RETENTION_INTERVAL": "1"}
    old = datetime.now(UTC) - timedelta(days=40)
    recent = datetime.now(UTC) - timedelta(days=1)
    for i in range(30):
        await publish(
            js, streams, event(EventType.LOG, "r1", {"message": f"old {i}"}, at=old + timedelta(seconds=i))
        )
    for i in range(10):
        last = await publish(
            js, streams, event(EventType.LOG, "r1", {"message": f"new {i}"}, at=recent + timedelta(seconds=i))
        )
    async with projector_running(env):
        await wait_for_checkpoint(database_url, last)
        conn = await asyncpg.connect(database_url)
        try:
            for _ in range(100):
                if await conn.fetchval("SELECT count(*) FROM system_logs WHERE message LIKE 'old%'") == 0:
                    break
                await asyncio.sleep(0.1)
            assert await conn.fetchval("SELECT count(*) FROM system_logs WHERE message LIKE 'old%'") == 0
            assert await conn.fetchval("SELECT count(*) FROM system_logs WHERE message LIKE 'new%'") == 10
        finally:
            await conn.close()
        assert metric(await asyncio.to_thread(scrape, env), "tonypi_projector_logs_pruned_total") >= 30
        live = await snapshot(database_url)
        await replay(load_settings(env))
        assert await snapshot(database_url) == live
