"""Is something answering there? Small checks `tonypi up` uses to choose and to wait."""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiohttp

from .supervisor import ReadyCheck


async def tcp_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def tcp_ready(host: str, port: int) -> ReadyCheck:
    async def check() -> tuple[bool, str]:
        if await tcp_answers(host, port):
            return True, ""
        return False, f"nothing listens on {host}:{port} yet"

    return check


def http_ready(url: str) -> ReadyCheck:
    """Ready when `url` (a /readyz) answers 200; otherwise what it reported."""

    async def check() -> tuple[bool, str]:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
                session.get(url) as response,
            ):
                if response.status == 200:
                    return True, ""
                body = await response.text()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return False, f"{url}: {type(exc).__name__}"
        try:
            checks = json.loads(body).get("checks", body)
        except (ValueError, AttributeError):
            checks = body[:200]
        return False, f"{url} answers {response.status}: {checks}"

    return check
