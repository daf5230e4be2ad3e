"""Fast tier, pure logic: settings that would make the API insecure by accident are refused;
the token cache keeps answers for its TTL only and never grows without bound."""

from __future__ import annotations

import pytest
from tonypi_query import tokens
from tonypi_query.auth import Role
from tonypi_query.config import load_settings
from tonypi_query.tokens import TokenVerifier
from tonypi_runtime.config import ConfigError
from tonypi_runtime.tokens import new_api_token, token_digest


@pytest.mark.parametrize(
    "env",
    [
        {"API_READS": "yes"},
        {"API_READS": ""},
        {"CORS_ALLOW_ORIGINS": "*"},
        {"CORS_ALLOW_ORIGINS": "http://localhost:3001,null"},
        {"TOKEN_CACHE_SECONDS": "3600"},
    ],
)
def test_settings_that_would_open_the_api_by_accident_are_refused(env):
    with pytest.raises(ConfigError):
        load_settings(env)


def test_reads_are_closed_unless_opened_explicitly():
    assert load_settings({}).reads_open is False
    assert load_settings({"API_READS": "open"}).reads_open is True
    assert load_settings({"API_READS": "token"}).reads_open is False


def test_tokens_are_256_random_bits_and_stored_as_sha256():
    a, b = new_api_token(), new_api_token()
    assert a != b and a.startswith("tpk_") and len(a) >= 4 + 43
    assert len(token_digest(a)) == 64 and token_digest(a) != token_digest(b)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_cache_answers_within_its_ttl_and_asks_again_after():
    token = new_api_token()
    rows = {token_digest(token): ("ops", "operator", token_digest(token))}
    asked: list[str] = []

    async def lookup(digest: str):
        asked.append(digest)
        return rows.get(digest)

    clock = Clock()
    verifier = TokenVerifier(lookup, ttl=5, clock=clock)
    who = await verifier.verify(token)
    assert who is not None and who.name == "ops" and who.role is Role.OPERATOR
    clock.now = 4.9
    assert (await verifier.verify(token)).role is Role.OPERATOR
    assert len(asked) == 1
    rows.clear()  # revoked
    clock.now = 5.1
    assert await verifier.verify(token) is None
    assert len(asked) == 2


async def test_unknown_and_foreign_credentials():
    asked: list[str] = []

    async def lookup(digest: str):
        asked.append(digest)
        return None

    verifier = TokenVerifier(lookup, ttl=5, clock=Clock())
    assert await verifier.verify("eyJhbGciOi.not.ours") is None
    assert asked == []  # not an API token: never looked up
    unknown = new_api_token()
    assert await verifier.verify(unknown) is None
    assert await verifier.verify(unknown) is None
    assert len(asked) == 1  # the miss is cached too


async def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(tokens, "MAX_ENTRIES", 3)

    async def lookup(_digest: str):
        return None

    verifier = TokenVerifier(lookup, ttl=60, clock=Clock())
    for _ in range(10):
        await verifier.verify(new_api_token())
    assert len(verifier._cache) <= 3


async def test_a_row_whose_role_is_unknown_authenticates_nobody():
    token = new_api_token()

    async def lookup(digest: str):
        return ("odd", "superuser", digest)

    assert await TokenVerifier(lookup, ttl=5, clock=Clock()).verify(token) is None
