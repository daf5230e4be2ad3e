"""`tonypi token create|revoke|list`: the API's bearer tokens.

A token is made here, printed ONCE, and only its SHA-256 leaves this process: in a
`token_created` event on the events stream (NATS_URL, EVENTS_STREAM, SUBJECT_PREFIX),
which the projector folds into api_tokens. `revoke` appends `token_revoked`; `list` reads
api_tokens (DATABASE_URL). Whoever can publish on the stream can make tokens: that is
the bootstrap (there is no default user), so the NATS user doing it must be an admin's.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
import sys
import time

import asyncpg
import nats
import nats.errors
from tonypi_events import (
    CLI_SOURCE,
    CURRENT_VERSION,
    TOKENS_STREAM_ID,
    EventEnvelope,
    EventType,
    encode,
    headers_for,
    new_event_id,
    utc_now,
)
from tonypi_events.actors import CLI_NAME_PREFIX, RESERVED_NAME_PREFIXES, VIA_CLI
from tonypi_runtime.config import ConfigError, Env, process_env
from tonypi_runtime.connections import database_url, nats_url, stream_names
from tonypi_runtime.tokens import NAME_PATTERN, ROLES, new_api_token, token_digest

PUBLISH_TIMEOUT = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="token_command", required=True, metavar="SUBCOMMAND")
    create = sub.add_parser("create", help="make a token (printed once) with a role")
    create.add_argument("--name", required=True, help="who or what uses it: shows in logs and events")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument(
        "--wait",
        type=float,
        default=10.0,
        help="seconds to wait until the projector has applied it and the API accepts it (10; 0: no wait)",
    )
    create.add_argument("--quiet", action="store_true", help="print only the token")
    revoke = sub.add_parser("revoke", help="revoke the token of a name")
    revoke.add_argument("--name", required=True)
    listing = sub.add_parser("list", help="tokens, by name (never the tokens themselves)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")


def cli_actor() -> dict[str, str]:
    """Who made the token: the operating-system user running the CLI, acting as admin, via
    the CLI (tonypi_events.actors)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"name": f"{CLI_NAME_PREFIX}{user}"[:80], "role": "admin", "via": VIA_CLI}


def token_event(event_type: EventType, payload: dict) -> EventEnvelope:
    return EventEnvelope(
        event_id=new_event_id(),
        event_type=event_type,
        schema_version=CURRENT_VERSION[event_type],
        robot_id=TOKENS_STREAM_ID,
        received_at=utc_now(),
        source=CLI_SOURCE,
        payload={**payload, "actor": cli_actor()},
    )


async def publish(env: Env, event: EventEnvelope) -> int:
    names = stream_names(env)
    nc = await nats.connect(nats_url(env).with_credentials, connect_timeout=5, max_reconnect_attempts=1)
    try:
        ack = await nc.jetstream().publish(
            names.subjects.event(event.robot_id, event.event_type),
            encode(event),
            timeout=PUBLISH_TIMEOUT,
            stream=names.events,
            headers=headers_for(event),
        )
        return ack.seq
    finally:
        await nc.close()


async def wait_applied(env: Env, digest: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    conn = await asyncpg.connect(database_url(env).with_credentials, timeout=10)
    try:
        while True:
            try:
                if await conn.fetchval(
                    "SELECT 1 FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL", digest
                ):
                    return True
            except asyncpg.UndefinedTableError:
                pass  # the projector has not migrated yet
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


async def create_token(env: Env, name: str, role: str, wait: float = 10.0) -> tuple[str, bool]:
    """Make a token, publish its digest; (token, applied within `wait`)."""
    token = new_api_token()
    digest = token_digest(token)
    await publish(
        env, token_event(EventType.TOKEN_CREATED, {"name": name, "role": role, "token_sha256": digest})
    )
    applied = await wait_applied(env, digest, wait) if wait > 0 else False
    return token, applied


async def list_tokens(env: Env) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url(env).with_credentials, timeout=10)
    try:
        return await conn.fetch(
            "SELECT name, role, created_at, created_by, revoked_at, revoked_by FROM api_tokens ORDER BY name"
        )
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await conn.close()


def _fail(message: str, code: int = 1) -> int:
    print(f"tonypi token: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    env = process_env()
    name = getattr(args, "name", None)
    if name is not None and not re.match(NAME_PATTERN, name):
        return _fail("--name: 1-64 characters, letters, digits and _ . @ : - (no spaces)", 2)
    if name is not None and args.token_command == "create" and name.startswith(RESERVED_NAME_PREFIXES):
        # An actor named so would pass for an OIDC subject or the CLI (tonypi_events.actors).
        return _fail(f"--name: may not start with {' or '.join(RESERVED_NAME_PREFIXES)}", 2)
    try:
        if args.token_command == "create":
            token, applied = asyncio.run(create_token(env, args.name, args.role, args.wait))
            if args.quiet:
                print(token)
                return 0
            print(f"token for {args.name} ({args.role}); it is shown only now, keep it safe:")
            print(token)
            if not applied and args.wait > 0:
                print(
                    f"note: not applied within {args.wait:g} s: is the projector running? "
                    "The API accepts it once it is.",
                    file=sys.stderr,
                )
            return 0
        if args.token_command == "revoke":
            asyncio.run(publish(env, token_event(EventType.TOKEN_REVOKED, {"name": args.name})))
            print(f"revoked {args.name}: refused within TOKEN_CACHE_SECONDS of the projector applying it")
            return 0
        rows = asyncio.run(list_tokens(env))
    except ConfigError as exc:
        return _fail(f"configuration error: {exc}", 2)
    except (OSError, TimeoutError, nats.errors.Error, asyncpg.PostgresError) as exc:
        return _fail(f"{type(exc).__name__}: {exc}")
    for r in rows:
        row = {
            "name": r["name"],
            "role": r["role"],
            "created_at": r["created_at"].isoformat(),
            "revoked_at": r["revoked_at"].isoformat() if r["revoked_at"] else None,
            "created_by": json.loads(r["created_by"])
            if isinstance(r["created_by"], str)
            else r["created_by"],
        }
        if args.json:
            print(json.dumps(row))
        else:
            state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
            print(f"{row['name']:<24} {row['role']:<9} created {row['created_at']}  {state}")
    if not rows and not args.json:
        print("no tokens")
    return 0
