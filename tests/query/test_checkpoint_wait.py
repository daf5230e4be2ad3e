"""The wait for the projector: by LISTEN/NOTIFY, and by polling the checkpoint row when the
LISTEN connection is down. The test plays the projector's part on the checkpoint row."""

from __future__ import annotations

import asyncio

import asyncpg
from tonypi_query.checkpoint import CheckpointWatcher
from tonypi_query.reads import Reads
from tonypi_runtime.postgres import quote_ident

SCHEMA = """CREATE TABLE projection_checkpoint (projection VARCHAR PRIMARY KEY, stream VARCHAR NOT NULL,
            last_seq BIGINT NOT NULL DEFAULT 0, updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW());
            INSERT INTO projection_checkpoint VALUES ('read_tables', 'S', 5)"""


async def _database(database_url: str) -> None:
    admin = await asyncpg.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()


async def _advance(conn: asyncpg.Connection, seq: int, notify: bool) -> None:
    async with conn.transaction():  # as the projector does: row and notification in one commit
        await conn.execute(
            "UPDATE projection_checkpoint SET last_seq = $1 WHERE projection = 'read_tables'", seq
        )
        if notify:
            await conn.execute("SELECT pg_notify('tonypi_checkpoint', $1)", str(seq))


async def test_a_notification_ends_the_wait_before_the_next_poll(database_url):
    await _database(database_url)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    projector = await asyncpg.connect(database_url)
    await projector.execute(SCHEMA)
    watcher = CheckpointWatcher(
        Reads(pool, concurrency=2).checkpoint, lambda: asyncpg.connect(database_url), poll_interval=30
    )
    await watcher.start()
    try:
        assert await watcher.wait_for(5, timeout=1)  # already there
        assert not await watcher.wait_for(6, timeout=0.2)
        await asyncio.sleep(0.3)  # the listener is connected by now
        waiting = asyncio.create_task(watcher.wait_for(7, timeout=10))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        await _advance(projector, 7, notify=True)
        assert await waiting
        assert asyncio.get_running_loop().time() - started < 1  # not the 30 s poll
        assert watcher.latest == 7
    finally:
        await watcher.stop()
        await projector.close()
        await pool.close()


async def test_without_a_listen_connection_the_wait_polls(database_url):
    await _database(database_url)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    projector = await asyncpg.connect(database_url)
    await projector.execute(SCHEMA)

    async def unreachable() -> asyncpg.Connection:
        raise OSError("LISTEN connection refused (test)")

    watcher = CheckpointWatcher(Reads(pool, concurrency=2).checkpoint, unreachable, poll_interval=0.05)
    await watcher.start()
    try:
        waiting = asyncio.create_task(watcher.wait_for(9, timeout=5))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await _advance(projector, 9, notify=False)  # a notification lost
        assert await asyncio.wait_for(waiting, 2)
    finally:
        await watcher.stop()
        await projector.close()
        await pool.close()
