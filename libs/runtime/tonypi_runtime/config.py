"""Reading configuration from the environment.

Each service builds its settings once, in its own `config.py`, from these helpers.
A bad value raises ConfigError with one line naming the variable and the problem;
`tonypi_runtime.entrypoint.run_service` prints that line and exits 2, no traceback.
No secret has a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters whose value is a secret: shown as *** wherever a URL is logged.
SECRET_PARAMETERS = frozenset({"password", "sslpassword", "token", "pass"})


class ConfigError(Exception):
    """A setting is missing or malformed. The message names the variable."""


Env = Mapping[str, str]


def env_str(env: Env, name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    return default if value is None or value == "" else value


def env_int(env: Env, name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def env_float(env: Env, name: str, default: float, *, minimum: float | None = None) -> float:
    raw = env_str(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def env_bool(env: Env, name: str, default: bool) -> bool:
    raw = env_str(env, name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


@dataclass(frozen=True)
class ServiceUrl:
    """A parsed broker or database URL. `password` never appears in `redacted`.

    `query` is the URL's query string, kept verbatim and handed on with the URL: for
    DATABASE_URL every libpq-style parameter asyncpg reads (`sslmode`, `sslrootcert`,
    `sslcert`, `sslkey`, `target_session_attrs`, `options`, ...) is honoured."""

    variable: str
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str = ""
    query: str = ""

    @property
    def netloc_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address

    @property
    def parameters(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def redacted(self) -> str:
        auth = f"{self.username}:***@" if self.password else (f"{self.username}@" if self.username else "")
        query = ""
        if self.query:
            shown = [
                (k, "***" if k.lower() in SECRET_PARAMETERS else v)
                for k, v in parse_qsl(self.query, keep_blank_values=True)
            ]
            query = "?" + urlencode(shown, safe="/*:")
        return f"{self.scheme}://{auth}{self.netloc_host}:{self.port}{self.path}{query}"

    @property
    def with_credentials(self) -> str:
        auth = ""
        if self.username:
            auth = quote(self.username, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return urlunsplit((self.scheme, f"{auth}{self.netloc_host}:{self.port}", self.path, self.query, ""))


def env_url(env: Env, name: str, default: str, schemes: dict[str, int]) -> ServiceUrl:
    """`schemes` maps each accepted scheme to its default port."""
    raw = env_str(env, name, default)
    assert raw is not None
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{name}={_redact(raw)!r} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes:
        accepted = ", ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{name}={_redact(raw)!r} must start with {accepted}")
    if not parts.hostname:
        raise ConfigError(f"{name}={_redact(raw)!r} has no host")
    return ServiceUrl(
        variable=name,
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or schemes[parts.scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        path=parts.path,
        query=parts.query,
    )


def _redact(raw: str) -> str:
    """`raw` for an error message: its password and secret query parameters as ***."""
    try:
        parts = urlsplit(raw)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = parts.query
        if query:
            query = urlencode(
                [
                    (k, "***" if k.lower() in SECRET_PARAMETERS else v)
                    for k, v in parse_qsl(query, keep_blank_values=True)
                ],
                safe="/*:",
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable URL>"


def process_env() -> Env:
    return os.environ
