"""A PostgreSQL login per service (docs/security.md, "Database roles").

- the projector's login owns the read tables: it runs the migrations, writes every table,
  and (`tonypi replay`) builds a staging schema and swaps it in;
- the query service's login reads: SELECT on every table the projector made or will make
  (default privileges), nothing else; LISTEN needs no grant;
- ingest has no login at all.

`ensure_roles` runs as an administrator (a superuser, or the database's owner with
CREATEROLE) and is idempotent: a second run changes nothing but the passwords it is
given. Tables made before the roles existed (by the administrator's login) are handed to
the projector, so an existing installation moves over in place.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import asyncpg

DEFAULT_PROJECTOR_ROLE = "tonypi_projector"
DEFAULT_QUERY_ROLE = "tonypi_query"
SCHEMA = "public"  # the live schema; replay's staging schemas are swapped into it
ROLES_LOCK_KEY = 0x7470_726F_6C65  # "tprole": two runs at once apply one after the other
# What the query login never holds on a table, even if someone granted it by hand.
QUERY_NEVER = "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


@dataclass(frozen=True)
class Login:
    role: str
    password: str | None = field(default=None, repr=False)  # None: keep it, or make one if new


@dataclass
class RolesOutcome:
    created: list[str] = field(default_factory=list)
    passwords_set: list[str] = field(default_factory=list)
    generated: dict[str, str] = field(default_factory=dict, repr=False)  # role -> new password, shown once
    handed_over: list[str] = field(default_factory=list)  # tables now owned by the projector


async def _statement(conn: asyncpg.Connection, template: str, *values: str) -> str:
    """SQL text with identifiers (%I) and literals (%L) quoted by PostgreSQL's own format()."""
    return await conn.fetchval(
        f"SELECT format('{template}', {', '.join(f'${i + 1}::text' for i in range(len(values)))})", *values
    )


async def _ensure_login(conn: asyncpg.Connection, login: Login, outcome: RolesOutcome) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", login.role)
    password = login.password
    if not exists:
        await conn.execute(
            await _statement(conn, "CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", login.role)
        )
        outcome.created.append(login.role)
        if password is None:
            password = secrets.token_urlsafe(24)
            outcome.generated[login.role] = password
    else:
        await conn.execute(await _statement(conn, "ALTER ROLE %I LOGIN", login.role))
    if password is not None:
        await conn.execute(await _statement(conn, "ALTER ROLE %I PASSWORD %L", login.role, password))
        outcome.passwords_set.append(login.role)


async def _hand_over_tables(conn: asyncpg.Connection, projector: str) -> list[str]:
    """Tables, views and free-standing sequences of the live schema that another login made
    (an installation from before the roles): the projector must own what it migrates.
    Sequences a column owns move with their table; extension members stay as they are."""
    rows = await conn.fetch(
        """
        SELECT c.relname, c.relkind::text AS relkind
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND pg_get_userbyid(c.relowner) <> $2
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                              AND d.deptype IN ('e', 'a', 'i'))
         ORDER BY c.relname
        """,
        SCHEMA,
        projector,
    )
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for row in rows:
        kind = kinds[row["relkind"]]
        await conn.execute(
            await _statement(conn, f"ALTER {kind} %I.%I OWNER TO %I", SCHEMA, row["relname"], projector)
        )
    return [r["relname"] for r in rows]


async def ensure_roles(
    conn: asyncpg.Connection, database: str, projector: Login, query: Login
) -> RolesOutcome:
    """Create or update both logins and their privileges on `database` (the connection's)."""
    if projector.role == query.role:
        raise ValueError(f"the projector and the query service need two logins, not one ({projector.role})")
    outcome = RolesOutcome()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", ROLES_LOCK_KEY)
        for login in (projector, query):
            await _ensure_login(conn, login, outcome)
        if not await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            # A non-superuser administrator (a managed database's owner with CREATEROLE) may
            # give tables to the projector, and set its default privileges, only as a member.
            await conn.execute(await _statement(conn, "GRANT %I TO current_user", projector.role))
        p, q = projector.role, query.role
        for template, values in (
            ("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO %I", (database, p)),
            ("GRANT CONNECT ON DATABASE %I TO %I", (database, q)),
            ("REVOKE CREATE ON SCHEMA %I FROM PUBLIC", (SCHEMA,)),
            ("GRANT USAGE, CREATE ON SCHEMA %I TO %I", (SCHEMA, p)),
            ("GRANT USAGE ON SCHEMA %I TO %I", (SCHEMA, q)),
            ("REVOKE CREATE ON SCHEMA %I FROM %I", (SCHEMA, q)),
        ):
            await conn.execute(await _statement(conn, template, *values))
        outcome.handed_over = await _hand_over_tables(conn, p)
        for template, values in (
            ("GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I", (SCHEMA, q)),
            (f"REVOKE {QUERY_NEVER} ON ALL TABLES IN SCHEMA %I FROM %I", (SCHEMA, q)),
            ("REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM %I", (SCHEMA, q)),
            # Not limited to one schema: replay builds its tables in a staging schema and
            # moves them into the live one, and they keep the grants they were made with.
            ("ALTER DEFAULT PRIVILEGES FOR ROLE %I GRANT SELECT ON TABLES TO %I", (p, q)),
        ):
            await conn.execute(await _statement(conn, template, *values))
    return outcome


async def drop_roles(conn: asyncpg.Connection, *roles: str) -> None:
    """Remove logins and what they own or were granted in the connection's database (tests;
    an uninstall). Objects in other databases must be dropped there first."""
    for role in roles:
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(await _statement(conn, "DROP OWNED BY %I CASCADE", role))
            await conn.execute(await _statement(conn, "DROP ROLE %I", role))
