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
from urllib.parse import quote, unquote, urlsplit, urlunsplit


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
    """A parsed broker or database URL. `password` never appears in `redacted`."""

    variable: str
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str = ""

    @property
    def redacted(self) -> str:
        auth = f"{self.username}:***@" if self.password else (f"{self.username}@" if self.username else "")
        return f"{self.scheme}://{auth}{self.host}:{self.port}{self.path}"

    @property
    def with_credentials(self) -> str:
        auth = ""
        if self.username:
            auth = quote(self.username, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return urlunsplit((self.scheme, f"{auth}{self.host}:{self.port}", self.path, "", ""))


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
    )


def _redact(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.password:
        return raw.replace(f":{parts.password}@", ":***@")
    return raw


def process_env() -> Env:
    return os.environ
