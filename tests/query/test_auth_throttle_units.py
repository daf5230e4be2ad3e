"""Fast tier, pure logic (issue 16, row 9): a malformed token is refused on its shape, and
failed authentications are throttled per client address with bounded memory."""

from __future__ import annotations

import logging

import pytest
from tonypi_query.throttle import FailedAuthThrottle, client_key
from tonypi_query.tokens import TokenVerifier
from tonypi_runtime.tokens import looks_like_api_token, new_api_token


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


MALFORMED = [
    "tpk_made_up",  # too short
    "tpk_" + "A" * 44,  # too long
    "tpk_" + "A" * 42 + "!",  # not URL-safe base64
    "TPK_" + "A" * 43,  # wrong prefix
    "xyz_" + "A" * 43,
    " tpk_" + "A" * 43,
]


def test_only_the_exact_shape_new_api_token_makes_is_an_api_token():
    assert all(looks_like_api_token(new_api_token()) for _ in range(50))
    for value in MALFORMED:
        assert not looks_like_api_token(value), value


@pytest.mark.parametrize("credential", MALFORMED)
async def test_a_malformed_token_is_never_looked_up(credential):
    asked: list[str] = []

    async def lookup(digest: str):
        asked.append(digest)
        return None

    assert await TokenVerifier(lookup, ttl=5, clock=Clock()).verify(credential) is None
    assert asked == []


def test_a_burst_is_allowed_then_refused_until_the_bucket_refills():
    clock = Clock()
    throttle = FailedAuthThrottle(burst=3, per_second=0.5, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 2  # one try back after 1 / 0.5 s
    assert throttle.retry_after("10.0.0.2") is None  # another client is unaffected
    clock.now = 1.0
    assert throttle.retry_after("10.0.0.1") == 1
    clock.now = 2.0
    assert throttle.retry_after("10.0.0.1") is None  # one more try
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 2
    clock.now = 100.0  # quiet: the bucket is full again and forgotten
    assert throttle.retry_after("10.0.0.1") is None
    assert len(throttle) == 0


def test_one_warning_per_burst(caplog):
    clock = Clock()
    throttle = FailedAuthThrottle(burst=5, per_second=1, clock=clock)
    with caplog.at_level(logging.WARNING, logger="tonypi_query.throttle"):
        for _ in range(200):  # a client that keeps trying at the refill rate stays in its burst
            if throttle.retry_after("10.0.0.1") is None:
                throttle.failed("10.0.0.1")
            clock.now += 0.5
        assert len(caplog.records) == 1
        # the burst of 5, and 3 more the half-second steps refilled before the bucket ran dry
        assert "client 10.0.0.1: 8 failed authentications in a row" in caplog.records[0].getMessage()
        clock.now += 60  # it stopped; a later burst is a new one
        for _ in range(5):
            throttle.failed("10.0.0.1")
        assert len(caplog.records) == 2


def test_memory_is_bounded_by_evicting_the_least_recently_seen():
    clock = Clock()
    throttle = FailedAuthThrottle(burst=1, per_second=0.001, max_clients=100, clock=clock)
    for n in range(10_000):
        throttle.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert len(throttle) == 100
    assert throttle.retry_after("10.0.39.15") is not None  # the last one is still held
    assert throttle.retry_after("10.0.0.0") is None  # the first was evicted


def test_ipv6_clients_share_their_64_and_mapped_ipv4_is_ipv4():
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_key("127.0.0.1") == "127.0.0.1"
    assert client_key(None) == "unknown"
