"""Versioned SQL migrations, applied on start.

Files `migrations/NNNN_name.sql` run in order, each once, recorded in
`schema_migrations`. All of it happens in one transaction under an advisory
transaction lock, so two projectors starting at once apply each file exactly once
(the second waits, then finds them recorded). Names are unqualified: the caller's
search_path decides the schema (`tonypi replay` builds a staging schema this way).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from importlib import resources

import asyncpg
from tonypi_runtime.config import ServiceUrl
from tonypi_runtime.postgres import quote_ident

log = logging.getLogger(__name__)

MIGRATIONS_LOCK_KEY = 0x7470_6D69_6772  # "tpmigr": any constant shared by every projector


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files(__package__) / "migrations"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


async def apply_migrations(conn: asyncpg.Connection) -> list[str]:
    """Apply what is missing in the connection's current schema; returns the versions applied."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS_LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version VARCHAR PRIMARY KEY, applied_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, sql in migration_files():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied_now.append(version)
    if applied_now:
        log.info("applied migrations %s", ", ".join(applied_now))
    return applied_now


async def ensure_database(url: ServiceUrl) -> bool:
    """Create the database DATABASE_URL names when it does not exist. True if created."""
    name = url.path.strip("/")
    admin = await asyncpg.connect(replace(url, path="/postgres").with_credentials)
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = await quote_ident(admin, name)
        try:
            await admin.execute(f"CREATE DATABASE {quoted}")
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            return False  # another projector created it a moment ago
        log.info("created database %s", name)
        return True
    finally:
        await admin.close()
