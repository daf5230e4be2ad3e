"""What the query benchmarks share: one `tonypi-query` process on a private stream, loaded by
`wrk` (C, one thread, so the load generator takes little of the 2 cores) with a viewer token.

Used by bench/query_http.py and bench/query_stats.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import asyncpg
import nats
from tonypi_projector.migrations import apply_migrations
from tonypi_runtime.tokens import new_api_token, token_digest

LUA = """
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
math.randomseed(os.time())
local headers = {}
local token = os.getenv("API_TOKEN")
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
request = function() return wrk.format("GET", paths[math.random(#paths)], headers) end
"""

TOKEN = new_api_token()


async def grant_bench_token(url: str) -> None:
    """A viewer token in api_tokens, as the token_created fold writes it."""
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations(conn)
        await conn.execute(
            "INSERT INTO api_tokens (name, token_sha256, role, created_at) "
            "VALUES ('bench', $1, 'viewer', now()) ON CONFLICT (name) "
            "DO UPDATE SET token_sha256 = EXCLUDED.token_sha256, revoked_at = NULL",
            token_digest(TOKEN),
        )
    finally:
        await conn.close()


def query_env(database_url: str, port: int) -> dict[str, str]:
    """The query service's environment: this database, a private stream and subject prefix."""
    run = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "QUERY_PORT": str(port),
        "EVENTS_STREAM": f"BENCH_{run}_EVENTS",
        "DEAD_LETTER_STREAM": f"BENCH_{run}_DL",
        "SUBJECT_PREFIX": f"bench{run}",
        "EVENTS_MAX_BYTES": str(64 * 1024 * 1024),
        "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def running_query(command: list[str], env: dict[str, str], base: str) -> Iterator[subprocess.Popen]:
    """Start the query service, wait (up to ~10 s) for /readyz, yield its process; on exit
    stop it and delete its private streams."""
    server = subprocess.Popen(command, env=env)
    try:
        for _ in range(100):
            try:
                with urlopen(f"{base}/readyz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(15)
        asyncio.run(delete_streams(env))


async def delete_streams(env: dict[str, str]) -> None:
    nc = await nats.connect(os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    try:
        for name in (env["EVENTS_STREAM"], env["DEAD_LETTER_STREAM"]):
            with contextlib.suppress(Exception):  # never created
                await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def wrk(
    base: str, paths: list[str], seconds: int, connections: int, workdir: Path, token: str = TOKEN
) -> dict[str, float]:
    """`token` "": requests without an Authorization header (a service with API_READS=open)."""
    script, listing = workdir / "paths.lua", workdir / "paths.txt"
    script.write_text(LUA)
    listing.write_text("\n".join(paths) + "\n")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base]
    out = subprocess.run(
        command,
        env={**os.environ, "PATHS_FILE": str(listing), "API_TOKEN": token},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def row(name: str, r: dict) -> str:
    flag = f" ({r['non_2xx']} non-2xx)" if r["non_2xx"] else ""
    return f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} |{flag}"
