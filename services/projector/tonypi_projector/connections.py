"""The projector's connections, for the service and `tonypi replay` alike: PostgreSQL
(created and migrated) and NATS, each retried until it answers."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import nats
import nats.errors
from tonypi_runtime import nats_client
from tonypi_runtime.postgres import use_json_codecs
from tonypi_runtime.retry import retry_forever

from .config import ProjectorSettings
from .migrations import apply_migrations, ensure_database

log = logging.getLogger("tonypi_projector")

DB_UNREACHABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


def database_connector(settings: ProjectorSettings):
    dsn = settings.database.with_credentials

    async def connect() -> asyncpg.Connection:
        conn = await asyncpg.connect(dsn, timeout=10)
        await use_json_codecs(conn)
        return conn

    return connect


async def prepare_database(settings: ProjectorSettings) -> None:
    """Create the database if missing and bring its schema up to date, retrying until reachable."""
    what = f"PostgreSQL at {settings.database.redacted} (DATABASE_URL)"
    await retry_forever(lambda: ensure_database(settings.database), what, log, retry_on=DB_UNREACHABLE)
    conn = await retry_forever(database_connector(settings), what, log, retry_on=DB_UNREACHABLE)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


async def connect_nats(settings: ProjectorSettings) -> nats.NATS:
    return await nats_client.connect_nats(
        settings.nats,
        "tonypi-projector",
        log,
        retry_on=(OSError, asyncio.TimeoutError, nats.errors.NoServersError),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=5,
    )
