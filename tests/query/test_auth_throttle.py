"""Issue 16, row 9, against the real app over PostgreSQL: a malformed token costs no
database lookup; a burst of bad tokens from one address is answered 429 with Retry-After,
counted, and logged once; a good token from another address is unaffected."""

from __future__ import annotations

import logging
import uuid

import aiohttp
import asyncpg
import pytest
from prometheus_client import REGISTRY
from tonypi_query.reads import Reads
from tonypi_runtime.postgres import quote_ident
from tonypi_runtime.tokens import new_api_token

from tests.conftest import PG_ADMIN_URL

from .conftest import API, _serve
from .events import grant_token

BURST = 5


@pytest.fixture
async def lookups(monkeypatch) -> list[str]:
    """Every digest the app looks up in api_tokens (the real query, counted on its way)."""
    asked: list[str] = []
    real = Reads.api_token

    async def counted(self, digest: str):
        asked.append(digest)
        return await real(self, digest)

    monkeypatch.setattr(Reads, "api_token", counted)
    return asked


@pytest.fixture
async def throttled_api(query_env, database_url, js, lookups):
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f"CREATE DATABASE {await quote_ident(admin, database_url.rsplit('/', 1)[1])}")
    finally:
        await admin.close()
    token = await grant_token(database_url, "viewer-" + uuid.uuid4().hex[:6], "viewer")
    env = {**query_env, "AUTH_FAILURE_BURST": str(BURST), "AUTH_FAILURE_RATE": "0.2"}
    client = await _serve(env, token)
    client.good_token = token
    yield client
    await client.close()


def _throttled() -> float:
    return REGISTRY.get_sample_value("tonypi_query_auth_throttled_total") or 0.0


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_malformed_token_costs_no_database_lookup(throttled_api, lookups):
    assert (await throttled_api.get(f"{API}/stats")).status == 200  # the good token: looked up
    assert len(lookups) == 1
    for credential in ("tpk_made_up", "tpk_" + "A" * 44, "tpk_" + "A" * 42 + "!", "nonsense"):
        resp = await throttled_api.get(f"{API}/stats", headers=_bearer(credential))
        assert resp.status == 401
        assert "not an API token" in (await resp.json())["detail"]
    assert len(lookups) == 1


async def test_a_burst_of_bad_tokens_is_throttled_counted_and_logged_once(throttled_api, lookups, caplog):
    before = _throttled()
    with caplog.at_level(logging.DEBUG, logger="tonypi_query"):
        for _ in range(BURST):
            resp = await throttled_api.get(f"{API}/stats", headers=_bearer(new_api_token()))
            assert resp.status == 401
        assert len(lookups) == BURST  # well-formed: each was looked up
        for _ in range(20):
            resp = await throttled_api.get(f"{API}/stats", headers=_bearer(new_api_token()))
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "5"  # one try back after 1 / 0.2 s
            assert "Too many failed authentications" in (await resp.json())["detail"]
        # Throttled tries are not looked at: no lookup, and the good token waits too.
        assert len(lookups) == BURST
        assert (await throttled_api.get(f"{API}/stats")).status == 429
    assert _throttled() - before == 21
    warnings = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "client 127.0.0.1: 5 failed authentications in a row" in warnings[0].getMessage()

    # Another address is unaffected: its good token answers, its bad ones get their own burst.
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as other:
        url = str(throttled_api.make_url(f"{API}/stats"))
        async with other.get(url, headers=_bearer(throttled_api.good_token)) as resp:
            assert resp.status == 200
        async with other.get(url, headers=_bearer(new_api_token())) as resp:
            assert resp.status == 401
