"""Checking an API token: hash it, look the digest up in api_tokens, cache the answer.

The cache keeps an answer (found or not) for TOKEN_CACHE_SECONDS, so a revocation takes
effect within that bound and a hot token costs a hash and a dict lookup, no round trip.
It holds at most MAX_ENTRIES digests and forgets everything when full: a flood of made-up
tokens costs one indexed lookup each, never memory.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from tonypi_runtime.tokens import looks_like_api_token, token_digest

from . import metrics
from .auth import Principal, Role

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000

# digest -> (name, role, stored digest) of an unrevoked token, or None
TokenLookup = Callable[[str], Awaitable[tuple[str, str, str] | None]]


class TokenVerifier:
    def __init__(self, lookup: TokenLookup, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def verify(self, credential: str) -> Principal | None:
        if not looks_like_api_token(credential):
            return None
        digest = token_digest(credential)
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await self._lookup(digest)
        who = None
        # The row was found by its digest; comparing again in constant time costs nothing
        # and keeps the check independent of how the database compared.
        if found is not None and hmac.compare_digest(found[2], digest):
            name, role = found[0], found[1]
            try:
                who = Principal(name, Role.parse(role))
            except ValueError:
                log.error("api token %r has an unknown role %r: refused", name, role)
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, who)
        metrics.TOKEN_LOOKUPS.labels("found" if who else "unknown").inc()
        return who
