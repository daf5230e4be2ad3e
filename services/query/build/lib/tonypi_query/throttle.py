"""Failed authentication, bounded: each client address has a bucket of failures.

A client may fail `burst` times in a row; the bucket refills at `per_second`. An empty
bucket answers 429 with `Retry-After` before the credential is looked at (no hash, no
lookup, no JWT parse), so a flood of bad tokens costs a dict lookup each. The first refusal
of a burst logs one WARNING; the burst ends when the client has been quiet long enough to
refill the bucket, and the next one logs again.

Memory is bounded: at most `max_clients` addresses (least recently seen evicted first),
each a few floats: 10,000 addresses are about 2 MB. IPv6 clients are keyed by their /64
(one host's usual allocation), so a host cannot get a fresh bucket per address.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from . import metrics

log = logging.getLogger(__name__)

MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date
    failures: int = 0  # in this burst
    logged: bool = False  # this burst's WARNING is out


def client_key(remote: str | None) -> str:
    """The address a bucket belongs to: IPv4 as is, IPv6 by its /64."""
    if not remote:
        return "unknown"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class FailedAuthThrottle:
    def __init__(
        self,
        burst: int,
        per_second: float,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, client: str) -> _Bucket | None:
        bucket = self._buckets.get(client)
        if bucket is None:
            return None
        now = self._clock()
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
        bucket.at = now
        self._buckets.move_to_end(client)
        if bucket.tokens >= self.burst:  # quiet long enough: the burst is over, nothing to keep
            del self._buckets[client]
            metrics.AUTH_THROTTLE_CLIENTS.set(len(self._buckets))
            return None
        return bucket

    def retry_after(self, client: str) -> int | None:
        """Seconds `client` must wait before its credentials are looked at again; None: now."""
        bucket = self._refilled(client)
        if bucket is None or bucket.tokens >= 1:
            return None
        bucket.failures += 1
        metrics.AUTH_THROTTLED.inc()
        return max(1, math.ceil((1 - bucket.tokens) / self.per_second))

    def failed(self, client: str) -> None:
        """`client` sent a credential that authenticates nobody."""
        bucket = self._refilled(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._buckets.popitem(last=False)
            bucket = self._buckets[client] = _Bucket(float(self.burst), self._clock())
            metrics.AUTH_THROTTLE_CLIENTS.set(len(self._buckets))
        bucket.tokens -= 1
        bucket.failures += 1
        if bucket.tokens < 1 and not bucket.logged:
            bucket.logged = True
            log.warning(
                "client %s: %d failed authentications in a row; its next tries are answered 429 "
                "(at most %g a second) until it stops (tonypi_query_auth_throttled_total counts them)",
                client,
                bucket.failures,
                self.per_second,
            )
