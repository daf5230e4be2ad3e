"""Who is calling: bearer tokens with a role, checked against each endpoint's minimum role.

- A request's principal (name, role) is put on the request under `PRINCIPAL`; handlers
  that record a write take `actor(request)` for the event's payload.
- Roles are ordered: viewer < operator < admin. Each endpoint declares the least it needs
  (`Endpoint.role`); a token with less gets 403, no or a bad token gets 401.
- Reads (endpoints needing only `viewer`) answer without a token only when the service is
  configured with API_READS=open; a token sent anyway is still checked.
- Tokens are looked up by their SHA-256 through `TokenVerifier` (tokens.py); JWTs from an
  identity provider, when configured, through `oidc.py`. A credential of neither shape is
  refused without either.
- A client address that keeps failing is answered 429 before its credential is looked at
  (throttle.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from aiohttp import web
from tonypi_events.actors import VIA_TOKEN
from tonypi_runtime.tokens import TOKEN_CHARS, TOKEN_PREFIX, looks_like_api_token

from .errors import ApiError
from .throttle import FailedAuthThrottle, client_key

log = logging.getLogger(__name__)


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}: one of {', '.join(r.label for r in cls)}") from None


@dataclass(frozen=True)
class Principal:
    """The caller: a token's (or an OIDC subject's) name and role, and how it authenticated.
    An OIDC subject's name is namespaced (`oidc:<issuer host>:<sub>`), so it never reads as a
    token's. Anonymous callers (open reads) have no role and never write."""

    name: str
    role: Role | None
    via: str = VIA_TOKEN  # token | oidc (tonypi_events.actors) | anonymous

    def actor(self) -> dict[str, Any]:
        """The `actor` object every write event's payload carries (tonypi_events.actors)."""
        return {
            "name": self.name,
            "role": self.role.label if self.role is not None else None,
            "via": self.via,
        }


ANONYMOUS = Principal("anonymous", None, "anonymous")
PRINCIPAL = web.RequestKey("principal", Principal)

# A bearer value longer than this is refused before it is hashed or parsed (a JWT with a
# few claims is well under 2 KiB).
MAX_CREDENTIAL_LENGTH = 4096
CHALLENGE = 'Bearer realm="tonypi"'


class Unauthenticated(ApiError):
    status = 401

    def __init__(self, detail: str, error: str | None = None) -> None:
        super().__init__(detail)
        challenge = f'{CHALLENGE}, error="{error}"' if error else CHALLENGE
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(ApiError):
    status = 403


class TooManyFailures(ApiError):
    """The client's address failed authentication too often (throttle.py)."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed authentications from this address: retry in {retry_after} s with a valid token"
        )
        self.headers = {"Retry-After": str(retry_after)}


class CredentialVerifier(Protocol):
    async def verify(self, credential: str) -> Principal | None:
        """The principal a bearer credential stands for, None if it stands for nobody."""


class Authenticator:
    """Turns a request's Authorization header into a Principal and checks it against the
    endpoint's minimum role."""

    def __init__(
        self, verifiers: list[CredentialVerifier], reads_open: bool, throttle: FailedAuthThrottle
    ) -> None:
        self._verifiers = verifiers
        self.reads_open = reads_open
        self._throttle = throttle

    async def authorize(self, request: web.Request, needs: Role) -> Principal:
        who = await self._authenticate(request, needs)  # ANONYMOUS only where reads are open
        if who is not ANONYMOUS and (who.role is None or who.role < needs):
            has = who.role.label if who.role is not None else "no role"
            raise Forbidden(f"Forbidden: this needs the {needs.label} role; {who.name!r} has {has}")
        request[PRINCIPAL] = who
        return who

    async def _authenticate(self, request: web.Request, needs: Role) -> Principal:
        header = request.headers.get("Authorization")
        if header is None:
            if self.reads_open and needs <= Role.VIEWER:
                return ANONYMOUS
            raise Unauthenticated(
                f"Not authenticated: this needs a token with the {needs.label} role or higher; "
                "send the header Authorization: Bearer <token>"
            )
        client = client_key(request.remote)
        wait = self._throttle.retry_after(client)
        if wait is not None:  # before anything is parsed, hashed or looked up
            raise TooManyFailures(wait)
        try:
            return await self._verify(header)
        except Unauthenticated:
            self._throttle.failed(client)
            raise

    async def _verify(self, header: str) -> Principal:
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("Not authenticated: the Authorization header must be 'Bearer <token>'")
        if len(credential) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated("Invalid token: too long", "invalid_token")
        for verifier in self._verifiers:
            found = await verifier.verify(credential)
            if found is not None:
                return found
        if not looks_like_api_token(credential):
            # A JWT never gets here (its verifier answers or raises): this is neither shape,
            # refused on its shape alone, with no hash and no database lookup.
            raise Unauthenticated(
                f"Invalid token: not an API token ({TOKEN_PREFIX} and {TOKEN_CHARS} characters) nor a JWT",
                "invalid_token",
            )
        raise Unauthenticated("Invalid token: unknown, revoked or expired", "invalid_token")


AUTHENTICATOR = web.AppKey("authenticator", Authenticator)


def principal(request: web.Request) -> Principal:
    """The request's caller; endpoints only run after `Authenticator.authorize` set it."""
    return request.get(PRINCIPAL, ANONYMOUS)


def actor(request: web.Request) -> dict[str, Any]:
    """`{"name", "role", "via"}` of the caller, for the `actor` field of a write event's payload."""
    return principal(request).actor()
