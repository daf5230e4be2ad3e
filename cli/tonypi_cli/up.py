"""`tonypi up` (what `make run` calls): the whole system and a simulated fleet, in the
foreground.

1. For MQTT, NATS and PostgreSQL: use what is configured or already answering, else
   start an embedded server with its data under the data directory (dependencies.py).
2. Declare the JetStream streams (`tonypi streams declare`: the services only look them
   up), then start projector, ingest and query; wait until each answers /readyz.
3. Make a development API token (admin role, name `dev`: each run replaces the last
   run's), print it with where to look, then start `tonypi simulate` with a handful of robots.
Ctrl-C or SIGTERM stops everything it started, services before brokers, and exits 0.
A child that exits on its own stops everything too, with exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tonypi_events import StreamStorageExceeded
from tonypi_runtime.config import ConfigError, env_str, process_env
from tonypi_runtime.connections import database_url, http_bind, nats_url, stream_names
from tonypi_runtime.entrypoint import stop_event_on_signals

from .dependencies import DEPENDENCIES, Choice, choose
from .embedded import EmbeddedUnavailable
from .probes import http_ready
from .streams import declare
from .supervisor import ChildExited, ProcessSpec, Supervisor
from .terminal import foreground_group
from .token import create_token


@dataclass(frozen=True)
class Service:
    name: str
    script: str
    port_variable: str
    default_port: int


# Started together; the projector applies the migrations the query service reads through.
SERVICES: tuple[Service, ...] = (
    Service("projector", "tonypi-projector", "PROJECTOR_PORT", 9102),
    Service("ingest", "tonypi-ingest", "INGEST_PORT", 9101),
    Service("query", "tonypi-query", "QUERY_PORT", 8000),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where embedded servers keep their data (default $TONYPI_DATA_DIR or .data)",
    )
    parser.add_argument(
        "--embedded-when-down",
        action="store_true",
        help="also start an embedded server on a configured loopback URL nothing answers on",
    )
    parser.add_argument("--robots", type=int, default=5, help="simulated robots, mixed generations (0: none)")
    parser.add_argument(
        "--deps-only",
        action="store_true",
        help="only MQTT, NATS and PostgreSQL: for running the services yourself",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for each step to be ready (default 60)",
    )


def run(args: argparse.Namespace) -> int:
    with foreground_group():  # Ctrl-C under make: exit 0, not make's 130 (terminal.py)
        return asyncio.run(_up(args, dict(process_env())))


class StartupFailed(Exception):
    """Something up needs is missing (a console script, an embedded server's package)."""


async def _up(args: argparse.Namespace, env: dict[str, str]) -> int:
    supervisor = Supervisor()
    stop = stop_event_on_signals()
    startup = asyncio.create_task(_start(supervisor, args, env, stop))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({startup, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    code = 0
    if not startup.done():
        stop.set()  # startup watches `stop` and returns between steps
        await asyncio.gather(startup, return_exceptions=True)
    elif isinstance(startup.exception(), ConfigError):
        supervisor.say(f"tonypi up: configuration error: {startup.exception()}")
        code = 2
    elif startup.exception() is not None:
        supervisor.say(f"up: {startup.exception()}; stopping everything")
        code = 1
    elif not stop.is_set():
        exited = await supervisor.wait_for_exit_or(stop)
        if exited is not None:
            supervisor.say(f"up: {ChildExited(exited)}; stopping everything")
            code = 1
    supervisor.say("up: stopping")
    clean = await supervisor.stop_all()
    supervisor.say("up: stopped" if clean else "up: stopped (some had to be killed)")
    return code


async def _start(
    supervisor: Supervisor, args: argparse.Namespace, env: dict[str, str], stop: asyncio.Event
) -> None:
    data_root = args.data_dir or Path(env_str(env, "TONYPI_DATA_DIR", ".data"))
    choices = [
        await choose(d, env, data_root, embedded_when_down=args.embedded_when_down) for d in DEPENDENCIES
    ]
    await _start_embedded(supervisor, choices, args.ready_timeout, stop)
    service_env = {**env, "PYTHONUNBUFFERED": "1", **{c.dependency.variable: c.value for c in choices}}
    if any(c.dependency.name == "nats" and c.how == "embedded" for c in choices):
        # nats-server reserves each stream's max_bytes from 75 % of the free disk: the
        # production 50 GiB does not fit many a laptop. A development box keeps less.
        for variable, size in DEV_STREAM_BYTES.items():
            service_env.setdefault(variable, str(size))
    if any(c.dependency.name == "mqtt" and c.how == "embedded" for c in choices):
        # amqtt speaks MQTT 3.1.1 only: saying so spares ingest its MQTT 5 attempt at start.
        service_env.setdefault("MQTT_PROTOCOL", "3.1.1")
        if service_env.pop("MQTT_SHARED_GROUP", None):
            supervisor.say("mqtt: amqtt has no shared subscriptions; ingest runs without MQTT_SHARED_GROUP")
    if not stop.is_set():
        await _declare_streams(supervisor, service_env, args.ready_timeout)
    if args.deps_only or stop.is_set():
        if args.deps_only:
            supervisor.say("up: dependencies ready; export these to run the services yourself:")
            for c in choices:  # a password stays out of the terminal: you have it already
                shown = c.url.redacted if c.url.password else c.value
                supervisor.say(f"  export {c.dependency.variable}={shown}")
        return
    services = [_service_spec(s, service_env) for s in SERVICES]
    await supervisor.wait_ready(await supervisor.start_group(services), args.ready_timeout, stop)
    if stop.is_set():
        return
    token, applied = await create_token(service_env, DEV_TOKEN_NAME, "admin", wait=args.ready_timeout)
    if not applied:
        raise StartupFailed(f"the development token was not applied within {args.ready_timeout:g} s")
    for line in where_to_look(service_env, token):
        supervisor.say(line)
    if args.robots > 0:
        simulate = ProcessSpec(
            "simulate",
            (sys.executable, "-m", "tonypi_cli", "simulate", "--robots", str(args.robots), "--gen", "mixed"),
            service_env,
        )
        await supervisor.start_group([simulate])


async def _declare_streams(supervisor: Supervisor, env: Mapping[str, str], wait: float) -> None:
    """The admin step the services wait for (`tonypi streams declare`), done here for them."""
    names = stream_names(env)
    try:
        await declare(nats_url(env), names, wait)
    except StreamStorageExceeded as exc:
        raise ConfigError(str(exc)) from None
    supervisor.say(f"nats: streams {names.events} and {names.dead_letter} declared")


async def _start_embedded(
    supervisor: Supervisor, choices: list[Choice], timeout: float, stop: asyncio.Event
) -> None:
    for choice in choices:
        if choice.embedded is not None:
            try:
                await asyncio.to_thread(choice.embedded.prepare)
            except (EmbeddedUnavailable, OSError) as exc:
                raise StartupFailed(f"{choice.dependency.name}: cannot start embedded server: {exc}") from exc
    embedded = [c.embedded.spec for c in choices if c.embedded is not None]
    if embedded:
        await supervisor.wait_ready(await supervisor.start_group(embedded), timeout, stop)
    for choice in choices:
        supervisor.say(choice.describe())


def _service_spec(service: Service, env: Mapping[str, str]) -> ProcessSpec:
    script = Path(sys.executable).parent / service.script
    found = str(script) if script.exists() else shutil.which(service.script)
    if not found:
        raise StartupFailed(f"{service.script} is not installed (make install)")
    return ProcessSpec(service.name, (found,), env, ready=http_ready(f"{_ops_base(service, env)}/readyz"))


def _ops_base(service: Service, env: Mapping[str, str]) -> str:
    bind = http_bind(env, service.port_variable, service.default_port)
    host = "127.0.0.1" if bind.host in ("0.0.0.0", "::", "") else bind.host
    return f"http://{host}:{bind.port}"


DEV_TOKEN_NAME = "dev"
# The streams' sizes on an embedded nats-server, unless the environment sets them.
DEV_STREAM_BYTES = {"EVENTS_MAX_BYTES": 1024**3, "DEAD_LETTER_MAX_BYTES": 256 * 1024**2}


def security_line(env: Mapping[str, str]) -> str:
    """What protects this run: `make run` is the open development setup, and says so."""
    if env.get("NATS_USER") or env.get("MQTT_USERNAME"):
        return "  security: broker logins as configured; not the shipped secured setup (docs/deploy.md)"
    return "  security: open (no auth on MQTT/NATS, loopback only) — see docs/security.md"


def where_to_look(env: Mapping[str, str], token: str) -> list[str]:
    by_name = {s.name: _ops_base(s, env) for s in SERVICES}
    return [
        "up: ready",
        security_line(env),
        f"  API       {by_name['query']}/api/robots-db/robots",
        f"  API docs  {by_name['query']}/docs  (Authorize with the token below)",
        f"  Console   {by_name['query']}/console/  (sign in with the token below)",
        f"  Token     {token}  (role admin, name {DEV_TOKEN_NAME}; a new one each run)",
        f"  Database  {database_url(env).redacted}  (the read tables; the projector writes them)",
        f'            curl -H "Authorization: Bearer {token}" {by_name["query"]}/api/robots-db/robots',
        *(f"  {name:<9} {base}/metrics  {base}/readyz" for name, base in by_name.items()),
        "  Ctrl-C stops everything",
    ]
