"""JWTs from the site's identity provider (OIDC), checked by PyJWT against its JWKS.

Every check on the token (signature, algorithm allow-list, the key's own algorithm, exp,
nbf, iat, iss, aud, required claims) is PyJWT's; this module only picks the key, maps
PyJWT's errors to readable 401s and reads the name and role claims.

Keys: PyJWKClient (PyJWT) fetches the JWKS, caches it for `jwks_cache_seconds` and picks
the key by `kid`; an unknown kid refetches at most once per `jwks_refetch_seconds` (its
cooldown). PyJWKClient is synchronous, so it runs in a thread, one fetch at a time, bounded
by `jwks_timeout`; keys found are kept here too, so a known kid costs no thread hop. A JWKS
that cannot be fetched answers 503 (and for `jwks_retry_seconds` after, without trying
again), never 500 and never an accepted token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import jwt
from tonypi_events.actors import OIDC_NAME_PREFIX, VIA_OIDC

from . import metrics
from .auth import Forbidden, Principal, Role, Unauthenticated
from .config import OidcSettings
from .errors import Unavailable

log = logging.getLogger(__name__)

# Three base64url segments: a JWS in compact form. API tokens (`tpk_…`) have no dots.
JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
MAX_NAME_LENGTH = 128  # the events' Actor.name bound
MAX_KEYS = 64  # keys remembered by kid; more (rotation over a long run) clears them
RETRY_AFTER = "5"


def looks_like_jwt(credential: str) -> bool:
    return JWT_SHAPE.match(credential) is not None


def _invalid(reason: str) -> Unauthenticated:
    return Unauthenticated(f"Invalid token: {reason}", "invalid_token")


def _unavailable(reason: str) -> Unavailable:
    error = Unavailable(f"Cannot check the token: {reason}; retry later")
    error.headers = {"Retry-After": RETRY_AFTER}
    return error


def claim(claims: dict[str, Any], name: str) -> Any:
    """`name` as a top-level claim if there is one (namespaced claims are URLs with dots),
    else as a dotted path into nested objects (`realm_access.roles`); None if absent."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def role_from(value: Any, claim_name: str) -> Role:
    """A string naming a role, or a list of strings (groups): the highest role among them."""
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    if names is None:
        raise Forbidden(
            f"Forbidden: the token has no {claim_name!r} claim naming a role (viewer, operator or admin)"
        )
    roles = []
    for name in names:
        if isinstance(name, str):
            try:
                roles.append(Role.parse(name))
            except ValueError:
                continue
    if not roles:
        shown = repr(value)[:80]
        raise Forbidden(
            f"Forbidden: the token's {claim_name!r} claim ({shown}) names no role "
            "(one of viewer, operator, admin)"
        )
    return max(roles)


def name_prefix(issuer: str) -> str:
    """`oidc:<issuer host>:`, what every OIDC caller's name starts with (tonypi_events.actors):
    a subject `alice` or `cli:root` is `oidc:idp.example:alice`, never a token's or the CLI's."""
    return f"{OIDC_NAME_PREFIX}{urlsplit(issuer).hostname or issuer}:"


def name_from(value: Any, claim_name: str, prefix: str = "") -> str:
    """The caller's name: `prefix` and the claim, within the events' bound."""
    most = MAX_NAME_LENGTH - len(prefix)
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise _invalid(f"the {claim_name!r} claim must be a string of 1 to {most} characters")
    if not value.isprintable():
        raise _invalid(f"the {claim_name!r} claim has control characters")
    return prefix + value


class OidcNotConfigured:
    """Without OIDC_JWKS_URL a JWT is refused with that reason (not as 'unknown token')."""

    async def verify(self, credential: str) -> Principal | None:
        if looks_like_jwt(credential):
            raise _invalid("this is a JWT, but OIDC is not configured (OIDC_JWKS_URL)")
        return None


class OidcVerifier:
    def __init__(self, settings: OidcSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._name_prefix = name_prefix(settings.issuer)
        self._client = jwt.PyJWKClient(
            settings.jwks_url,
            cache_jwk_set=True,
            lifespan=settings.jwks_cache_seconds,
            timeout=settings.jwks_timeout,
            cooldown_duration=settings.jwks_refetch_seconds,
            headers={"User-Agent": "tonypi-query"},
        )
        self._keys: dict[str, tuple[float, jwt.PyJWK]] = {}
        self._lock = asyncio.Lock()
        self._fetching: asyncio.Future | None = None
        self._down_until = 0.0

    async def verify(self, credential: str) -> Principal | None:
        if not looks_like_jwt(credential):
            return None
        s = self._settings
        try:
            header = jwt.get_unverified_header(credential)
        except jwt.PyJWTError:
            raise _invalid("not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in s.algorithms:  # PyJWT checks it again; this saves a key lookup
            raise _invalid(
                f"algorithm {str(alg)[:20]!r} is not accepted (OIDC_ALGORITHMS: {', '.join(s.algorithms)})"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise _invalid("its header names no key (kid)")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                credential,
                key,
                algorithms=list(s.algorithms),
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway,
                options={"require": ["exp", "iss", "aud"], "enforce_minimum_key_length": True},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("expired") from None
        except jwt.InvalidAudienceError:
            raise _invalid(f"not issued for this API (audience must be {s.audience!r})") from None
        except jwt.InvalidIssuerError:
            raise _invalid(f"not from the configured issuer ({s.issuer!r})") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the {exc.claim!r} claim is missing") from None
        except jwt.PyJWTError as exc:
            raise _invalid(str(exc)[:200] or type(exc).__name__) from None
        who = Principal(
            name_from(claim(claims, s.name_claim), s.name_claim, self._name_prefix),
            role_from(claim(claims, s.role_claim), s.role_claim),
            VIA_OIDC,
        )
        metrics.OIDC_VERIFIED.inc()
        return who

    async def _key(self, kid: str) -> jwt.PyJWK:
        hit = self._keys.get(kid)
        if hit is not None and hit[0] > self._clock():
            return hit[1]
        async with self._lock:  # one lookup at a time: one thread, one fetch
            hit = self._keys.get(kid)
            if hit is not None and hit[0] > self._clock():
                return hit[1]
            key = await self._fetch_key(kid)
            if len(self._keys) >= MAX_KEYS:
                self._keys.clear()
            self._keys[kid] = (self._clock() + self._settings.jwks_cache_seconds, key)
            return key

    async def _fetch_key(self, kid: str) -> jwt.PyJWK:
        s = self._settings
        if self._clock() < self._down_until:
            raise _unavailable("the identity provider's key set (JWKS) could not be fetched")
        if self._fetching is not None and not self._fetching.done():
            # A fetch that outlived its timeout still holds the client: start no second one.
            raise _unavailable("the identity provider's key set (JWKS) is still being fetched")
        self._fetching = asyncio.ensure_future(asyncio.to_thread(self._client.get_signing_key, kid))
        try:
            # shield: a thread cannot be cancelled; the fetch ends on its own (its timeout).
            return await asyncio.wait_for(asyncio.shield(self._fetching), s.jwks_timeout + 1)
        except (TimeoutError, ValueError, jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:
            # ValueError: the answer was not JSON.
            self._down_until = self._clock() + s.jwks_retry_seconds
            metrics.OIDC_JWKS_FAILURES.inc()
            log.warning(
                "OIDC: cannot fetch the JWKS at %s: %s", s.jwks_url, str(exc)[:200] or type(exc).__name__
            )
            raise _unavailable("the identity provider's key set (JWKS) could not be fetched") from None
        except jwt.PyJWKClientError:
            # No key with this kid, even after the (rate-limited) refetch.
            raise _invalid(f"no key {kid[:64]!r} in the identity provider's key set") from None
