"""The per-service PostgreSQL logins of a test, made by the real `tonypi db roles` (as an
operator runs it) on the test's database and dropped afterwards. Role names carry the
test's run id: roles are cluster-wide, and tests run side by side on one server."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tonypi_projector.db_roles import drop_roles


@dataclass(frozen=True)
class Logins:
    admin: str  # the administrator's URL the step ran with
    projector: str
    query: str
    projector_role: str
    query_role: str
    output: str  # what `tonypi db roles` printed


def url_as(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, ""))


def run_db_roles(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tonypi_cli", "db", "roles"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@asynccontextmanager
async def db_logins(database_url: str, run_id: str):
    projector_role, query_role = f"tonypi_projector_{run_id}", f"tonypi_query_{run_id}"
    logins = Logins(
        admin=database_url,
        projector=url_as(database_url, projector_role, f"p{run_id}"),
        query=url_as(database_url, query_role, f"q{run_id}"),
        projector_role=projector_role,
        query_role=query_role,
        output="",
    )
    done = run_db_roles(
        {
            "DATABASE_URL": database_url,
            "PROJECTOR_DATABASE_URL": logins.projector,
            "QUERY_DATABASE_URL": logins.query,
        }
    )
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield Logins(**{**logins.__dict__, "output": done.stdout})
    finally:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1::text[])",
                [projector_role, query_role],
            )
            await drop_roles(conn, projector_role, query_role)
        finally:
            await conn.close()
