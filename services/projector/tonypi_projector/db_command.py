"""`tonypi db roles`: the projector's and the query service's PostgreSQL logins and their
privileges, made or brought up to date by an administrator (docs/deploy.md, one-shot steps).

    DATABASE_URL            an administrator's login on the database (superuser, or the
                            database's owner with CREATEROLE); the database is created if missing
    PROJECTOR_DATABASE_URL  the URL the projector will use: its user name is the role made,
    QUERY_DATABASE_URL      its password the one set (both default to tonypi_projector /
                            tonypi_query on DATABASE_URL's host; no password: a new role gets one
                            made here and printed once, an existing one keeps its own)

Idempotent: run it at every deploy (a compose one-shot, a Kubernetes Job).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace

import asyncpg
from tonypi_runtime.config import ConfigError, Env, ServiceUrl, env_str, process_env
from tonypi_runtime.connections import PLACEHOLDER_SECRET, database_url

from .db_roles import DEFAULT_PROJECTOR_ROLE, DEFAULT_QUERY_ROLE, Login, RolesOutcome, ensure_roles
from .migrations import ensure_database

SERVICE_URLS = {"projector": "PROJECTOR_DATABASE_URL", "query": "QUERY_DATABASE_URL"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    sub.add_parser(
        "roles",
        help="create or update the projector's and the query service's logins and grants",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def service_login(env: Env, admin: ServiceUrl, variable: str, default_role: str) -> Login:
    """The login a service's URL names; it must be on the administrator's database."""
    raw = env_str(env, variable)
    if raw is None:
        return Login(default_role)
    url = database_url({"DATABASE_URL": raw})
    if url.password == PLACEHOLDER_SECRET:
        raise ConfigError(f"{variable}'s password is still the placeholder {PLACEHOLDER_SECRET}")
    if url.path.strip("/") != admin.path.strip("/"):
        raise ConfigError(
            f"{variable} names database {url.path.strip('/')!r}, DATABASE_URL {admin.path.strip('/')!r}: "
            "the roles are granted on one database"
        )
    if not url.username:
        raise ConfigError(f"{variable}={url.redacted!r} names no user")
    return Login(url.username, url.password)


def plan(env: Env) -> tuple[ServiceUrl, Login, Login]:
    admin = database_url(env)
    projector = service_login(env, admin, SERVICE_URLS["projector"], DEFAULT_PROJECTOR_ROLE)
    query = service_login(env, admin, SERVICE_URLS["query"], DEFAULT_QUERY_ROLE)
    if admin.username in (projector.role, query.role):
        raise ConfigError(
            f"DATABASE_URL must be an administrator's login, not the service login {admin.username}"
        )
    if projector.role == query.role:
        raise ConfigError(f"the projector and the query service need two logins, not one ({projector.role})")
    return admin, projector, query


async def apply(admin: ServiceUrl, projector: Login, query: Login) -> RolesOutcome:
    await ensure_database(admin)
    conn = await asyncpg.connect(admin.with_credentials, timeout=10)
    try:
        return await ensure_roles(conn, admin.path.strip("/"), projector, query)
    finally:
        await conn.close()


def report(outcome: RolesOutcome, admin: ServiceUrl) -> list[str]:
    lines = []
    for role in outcome.created:
        lines.append(f"created login {role}")
    for role in outcome.passwords_set:
        if role not in outcome.generated:
            lines.append(f"password of {role} set from its URL")
    for role, password in outcome.generated.items():
        url = replace(admin, username=role, password=password)
        lines.append(f"made a password for {role} (shown only now): {url.with_credentials}")
    if outcome.handed_over:
        lines.append(f"handed to the projector's login: {', '.join(outcome.handed_over)}")
    lines.append(f"roles and grants up to date on {admin.redacted}")
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        admin, projector, query = plan(process_env())
    except ConfigError as exc:
        print(f"tonypi db: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        outcome = asyncio.run(apply(admin, projector, query))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        print(f"tonypi db roles: {admin.redacted} (DATABASE_URL): {exc}", file=sys.stderr)
        return 1
    for line in report(outcome, admin):
        print(line)
    return 0
