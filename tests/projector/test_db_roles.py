"""Issue 16 row 5: one PostgreSQL login per service, made by `tonypi db roles` against the
real PostgreSQL. The query service's login reads and listens and cannot write (so it cannot
mint a token); the projector's migrates and writes; ingest has none."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from tonypi_projector.migrations import apply_migrations
from tonypi_runtime.postgres import CHECKPOINT_CHANNEL

from tests.conftest import PG_ADMIN_URL
from tests.support.db_logins import db_logins, run_db_roles, url_as

TOKEN_ROW = (
    "INSERT INTO api_tokens (token_sha256, name, role, created_at) "
    "VALUES (md5(random()::text), 'forged', 'admin', now())"
)


@pytest.fixture
async def logins(database_url, run_id):
    async with db_logins(database_url, run_id) as made:
        yield made


async def _migrated_as_projector(logins) -> None:
    conn = await asyncpg.connect(logins.projector)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


async def test_the_projector_login_migrates_and_writes(logins):
    assert f"created login {logins.projector_role}" in logins.output
    await _migrated_as_projector(logins)
    conn = await asyncpg.connect(logins.projector)
    try:
        assert await conn.fetchval("SELECT current_user") == logins.projector_role
        await conn.execute(TOKEN_ROW)
        owners = await conn.fetch("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert [r["tableowner"] for r in owners] == [logins.projector_role]
    finally:
        await conn.close()


async def test_the_query_login_reads_and_listens_but_cannot_write(logins):
    await _migrated_as_projector(logins)
    projector = await asyncpg.connect(logins.projector)
    query = await asyncpg.connect(logins.query)
    try:
        await projector.execute(TOKEN_ROW)
        assert await query.fetchval("SELECT count(*) FROM api_tokens") == 1
        assert await query.fetchval("SELECT count(*) FROM robots") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await query.execute(TOKEN_ROW.replace("'forged'", "'minted-by-query'"))
        for statement in (
            "UPDATE api_tokens SET role = 'admin'",
            "DELETE FROM api_tokens",
            "TRUNCATE api_tokens",
            "CREATE TABLE public.mine (x int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await query.execute(statement)
        heard: asyncio.Queue[str] = asyncio.Queue()
        await query.add_listener(CHECKPOINT_CHANNEL, lambda *args: heard.put_nowait(args[3]))
        await projector.execute("SELECT pg_notify($1, '42')", CHECKPOINT_CHANNEL)
        assert await asyncio.wait_for(heard.get(), 10) == "42"
    finally:
        await query.close()
        await projector.close()


async def test_tables_the_projector_makes_later_are_readable_by_query(logins):
    """Default privileges: a later migration's table, and one replay builds in a staging
    schema and moves into the live one, are readable without running the step again."""
    await _migrated_as_projector(logins)
    projector = await asyncpg.connect(logins.projector)
    query = await asyncpg.connect(logins.query)
    try:
        await projector.execute(
            "CREATE TABLE later_migration (x int); INSERT INTO later_migration VALUES (1)"
        )
        await projector.execute(
            "CREATE SCHEMA staging_x; CREATE TABLE staging_x.rebuilt (x int); "
            "INSERT INTO staging_x.rebuilt VALUES (2); ALTER TABLE staging_x.rebuilt SET SCHEMA public; "
            "DROP SCHEMA staging_x"
        )
        assert await query.fetchval("SELECT x FROM later_migration") == 1
        assert await query.fetchval("SELECT x FROM rebuilt") == 2
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await query.execute("INSERT INTO rebuilt VALUES (3)")
    finally:
        await query.close()
        await projector.close()


async def test_an_existing_installation_moves_to_the_roles_in_place(database_url, run_id):
    """Tables the administrator's login made before the roles existed go to the projector,
    which can then migrate them further; the query login reads them. A second run changes
    nothing but is harmless (a deploy runs it every time)."""
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{database_url.rsplit("/", 1)[1]}"')
    finally:
        await admin.close()
    old = await asyncpg.connect(database_url)
    try:
        await apply_migrations(old)
        await old.execute(TOKEN_ROW)
    finally:
        await old.close()
    async with db_logins(database_url, run_id) as logins:
        assert "handed to the projector's login: " in logins.output and "api_tokens" in logins.output
        projector = await asyncpg.connect(logins.projector)
        query = await asyncpg.connect(logins.query)
        try:
            await projector.execute(
                "CREATE INDEX idx_later ON api_tokens (name); ALTER TABLE robots ADD COLUMN x int"
            )
            assert await query.fetchval("SELECT name FROM api_tokens") == "forged"
        finally:
            await query.close()
            await projector.close()
        again = run_db_roles(
            {
                "DATABASE_URL": database_url,
                "PROJECTOR_DATABASE_URL": logins.projector,
                "QUERY_DATABASE_URL": logins.query,
            }
        )
        assert again.returncode == 0, again.stderr
        assert "created login" not in again.stdout and "handed to" not in again.stdout


async def test_a_new_login_without_a_password_gets_one_shown_once(database_url, run_id):
    role = f"tonypi_query_{run_id}"
    done = run_db_roles(
        {
            "DATABASE_URL": database_url,
            "PROJECTOR_DATABASE_URL": url_as(database_url, f"tonypi_projector_{run_id}", "p"),
            "QUERY_DATABASE_URL": database_url.replace("postgres@", f"{role}@"),
        }
    )
    admin = await asyncpg.connect(database_url)
    try:
        assert done.returncode == 0, done.stderr
        assert f"made a password for {role} (shown only now): postgresql://{role}:" in done.stdout
        assert "made a password for tonypi_projector" not in done.stdout  # its URL gave one
    finally:
        from tonypi_projector.db_roles import drop_roles

        await drop_roles(admin, f"tonypi_projector_{run_id}", role)
        await admin.close()


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"QUERY_DATABASE_URL": "postgresql://tonypi_query:REPLACE_ME@h/tonypi_db"}, "placeholder"),
        ({"QUERY_DATABASE_URL": "postgresql://tonypi_query:x@h/other_db"}, "names database 'other_db'"),
        (
            {
                "PROJECTOR_DATABASE_URL": "postgresql://q:x@h/tonypi_db",
                "QUERY_DATABASE_URL": "postgresql://q:y@h/tonypi_db",
            },
            "two logins",
        ),
        ({"PROJECTOR_DATABASE_URL": "postgresql://admin:x@h/tonypi_db"}, "an administrator's login"),
    ],
)
@pytest.mark.integration  # starts the projector process
def test_configuration_mistakes_are_refused_before_connecting(env, said):
    done = run_db_roles({"DATABASE_URL": "postgresql://admin@127.0.0.1:9/tonypi_db", **env})
    assert done.returncode == 2 and said in done.stderr, done.stderr
