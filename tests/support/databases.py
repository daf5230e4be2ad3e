"""The test's own database (its `database_url` fixture names it, and drops it afterwards),
created and, unless asked otherwise, migrated as the projector migrates it."""

from __future__ import annotations

import asyncpg
from tonypi_projector.migrations import apply_migrations
from tonypi_runtime.postgres import quote_ident


async def create_database(database_url: str, admin_url: str, *, migrated: bool = True) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()
    if migrated:
        conn = await asyncpg.connect(database_url)
        try:
            await apply_migrations(conn)
        finally:
            await conn.close()
