"""What `tonypi up` uses for each dependency: the configured one, the one already
answering on the default address, or an embedded one it starts itself.

- variable set: use it (with --embedded-when-down, and a loopback address nothing
  answers on, start an embedded server there instead);
- variable unset, default address answers: use that;
- variable unset, nothing answers: start an embedded server on the default address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tonypi_runtime import connections
from tonypi_runtime.config import Env, ServiceUrl, env_str

from . import embedded
from .probes import tcp_answers

EmbeddedBuilder = Callable[[ServiceUrl, Path, Mapping[str, str]], embedded.Embedded]


@dataclass(frozen=True)
class Dependency:
    name: str
    variable: str
    default: str
    parse: Callable[[Env], ServiceUrl]
    embed: EmbeddedBuilder


DEPENDENCIES: tuple[Dependency, ...] = (
    Dependency("mqtt", "MQTT_URL", connections.DEFAULT_MQTT_URL, connections.mqtt_url, embedded.amqtt_broker),
    Dependency("nats", "NATS_URL", connections.DEFAULT_NATS_URL, connections.nats_url, embedded.nats_server),
    Dependency(
        "postgres",
        "DATABASE_URL",
        connections.DEFAULT_DATABASE_URL,
        connections.database_url,
        embedded.postgres_server,
    ),
)


@dataclass(frozen=True)
class Choice:
    dependency: Dependency
    url: ServiceUrl
    value: str  # what the services get in `dependency.variable`, exactly as configured
    how: str  # "configured" | "running" | "embedded"
    answering: bool
    embedded: embedded.Embedded | None = None

    def describe(self) -> str:
        name, where = self.dependency.name, self.url.redacted
        if self.how == "embedded":
            assert self.embedded is not None
            data = f", data in {self.embedded.data_dir}" if self.embedded.data_dir else ", in memory"
            return (
                f"{name}: started embedded {self.embedded.description} "
                f"on {self.url.host}:{self.url.port}{data}"
            )
        if self.how == "running":
            return f"{name}: using {where} (already running)"
        note = "" if self.answering else "; not answering yet, the services will retry"
        return f"{name}: using {where} ({self.dependency.variable}{note})"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def choose(
    dependency: Dependency, env: Env, data_root: Path, *, embedded_when_down: bool = False
) -> Choice:
    url = dependency.parse(env)  # ConfigError names the variable when malformed
    configured = env_str(env, dependency.variable)
    value = configured or dependency.default
    answering = await tcp_answers(url.host, url.port)
    if answering:
        return Choice(dependency, url, value, "configured" if configured else "running", True)
    if configured and not (embedded_when_down and is_loopback(url.host)):
        return Choice(dependency, url, value, "configured", False)
    return Choice(dependency, url, value, "embedded", False, dependency.embed(url, data_root, env))
