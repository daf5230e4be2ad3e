"""`tonypi projector dead-letters`: the events the projector could not apply, with the error."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import asyncpg
from tonypi_runtime.config import ConfigError, process_env
from tonypi_runtime.connections import database_url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="projector_command", required=True, metavar="SUBCOMMAND")
    dead = sub.add_parser("dead-letters", help="list events the projector dead-lettered, newest first")
    dead.add_argument("--limit", type=int, default=50, help="how many (50)")
    dead.add_argument("--json", action="store_true", help="one JSON object per line")


async def _dead_letters(dsn: str, limit: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetch(
            "SELECT stream_seq, event_id, event_type, schema_version, robot_id, error, failed_at, "
            "length(raw) AS size FROM projection_dead_letters ORDER BY stream_seq DESC LIMIT $1",
            limit,
        )
    except asyncpg.UndefinedTableError:
        return []
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        print("tonypi projector dead-letters: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        url = database_url(process_env())
    except ConfigError as exc:
        print(f"tonypi projector: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        rows = asyncio.run(_dead_letters(url.with_credentials, args.limit))
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"tonypi projector: cannot read {url.redacted} (DATABASE_URL): {exc}", file=sys.stderr)
        return 1
    if args.json:
        for row in rows:
            print(json.dumps({**dict(row), "failed_at": row["failed_at"].isoformat()}))
        return 0
    if not rows:
        print("no dead letters")
        return 0
    print(f"{'seq':>10}  {'type':<24} {'v':>2}  {'robot':<20} {'failed at':<25} error")
    for r in rows:
        print(
            f"{r['stream_seq']:>10}  {r['event_type'] or '?':<24} {r['schema_version'] or '?':>2}  "
            f"{r['robot_id'] or '?':<20} {r['failed_at'].isoformat(timespec='seconds'):<25} {r['error']}"
        )
    return 0
