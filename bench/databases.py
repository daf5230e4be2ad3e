"""The throwaway databases the benchmarks create and drop. Their names are ours, but an
identifier still goes into SQL only as PostgreSQL's own quote_ident spells it."""

from __future__ import annotations

import asyncpg
from tonypi_runtime.postgres import quote_ident


async def drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {await quote_ident(admin, name)} WITH (FORCE)")
    finally:
        await admin.close()


async def recreate_database(admin_url: str, name: str) -> None:
    """An empty database `name`, whatever was there before."""
    admin = await asyncpg.connect(admin_url)
    try:
        quoted = await quote_ident(admin, name)
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()
