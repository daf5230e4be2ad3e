"""`tonypi streams declare`: the admin step that creates (or updates) the JetStream streams.

The services never create, update, purge or delete a stream: their NATS users may not
(auth.conf, docs/security.md). They look the streams up and wait until this has run. It
reads the services' own variables: NATS_URL, NATS_USER, NATS_PASSWORD (an admin's), and
EVENTS_STREAM, DEAD_LETTER_STREAM, SUBJECT_PREFIX, STREAM_REPLICAS, EVENTS_MAX_AGE_DAYS,
EVENTS_MAX_BYTES, DEAD_LETTER_MAX_BYTES.

Exit 0: both streams declared (created, or updated to this configuration; running it again
changes nothing). Exit 2: a configuration error, or a server that cannot reserve a
stream's size (one line naming the variable to lower). Exit 1: NATS did not answer, or
refused (a user without the admin's permissions).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import nats
import nats.errors
from tonypi_events import StreamNames, StreamStorageExceeded
from tonypi_events.stream import ensure_stream
from tonypi_runtime.config import ConfigError, ServiceUrl, process_env
from tonypi_runtime.connections import nats_url, stream_names
from tonypi_runtime.text import escape_text

UNREACHABLE = (OSError, asyncio.TimeoutError, nats.errors.Error)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="streams_command", required=True, metavar="SUBCOMMAND")
    declare = sub.add_parser("declare", help="create or update the events and dead-letter streams")
    declare.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="seconds to keep trying while NATS does not answer yet (60; 0: one attempt)",
    )


async def _connect(url: ServiceUrl, wait: float) -> nats.NATS:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            return await nats.connect(
                url.with_credentials,
                name="tonypi-streams-declare",
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=0,
            )
        except UNREACHABLE as exc:
            if loop.time() >= deadline:
                raise
            print(
                f"tonypi streams declare: NATS at {url.redacted} not answering ({exc}); retrying",
                file=sys.stderr,
            )
            await asyncio.sleep(1.0)


async def declare(url: ServiceUrl, names: StreamNames, wait: float) -> None:
    nc = await _connect(url, wait)
    try:
        js = nc.jetstream(timeout=5)
        await ensure_stream(js, names.events_config(), "EVENTS_MAX_BYTES")
        await ensure_stream(js, names.dead_letter_config(), "DEAD_LETTER_MAX_BYTES")
    finally:
        await nc.close()


def run(args: argparse.Namespace) -> int:
    try:
        env = process_env()
        url, names = nats_url(env), stream_names(env)
    except ConfigError as exc:
        print(f"tonypi streams declare: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(declare(url, names, max(0.0, args.wait)))
    except StreamStorageExceeded as exc:
        print(f"tonypi streams declare: configuration error: {exc}", file=sys.stderr)
        return 2
    except UNREACHABLE as exc:
        reason = escape_text(f"{type(exc).__name__}: {exc}", 300)
        print(
            f"tonypi streams declare: failed at {url.redacted} ({reason}); "
            "the NATS user must be allowed $JS.API.STREAM.CREATE/UPDATE (the admin user)",
            file=sys.stderr,
        )
        return 1
    print(
        f"streams declared: {names.events} ({names.subjects.events_wildcard}) and "
        f"{names.dead_letter} ({names.subjects.dead_letter_wildcard})"
    )
    return 0
