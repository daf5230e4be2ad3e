"""`tonypi with-deps -- COMMAND ...` (what `make test` calls): run COMMAND with MQTT, NATS
and PostgreSQL answering, their URLs in TEST_MQTT_URL, TEST_NATS_URL and TEST_PG_ADMIN_URL.

For each dependency, the same way `tonypi up` chooses (dependencies.py, embedded.py):
- the URL in its TEST_* variable (default: the default address) answers: use it;
- nothing answers: start the embedded server from PyPI on a FREE loopback port (never a
  default port, so it cannot collide with a `make run`), its data in a temporary
  directory removed afterwards, and hand COMMAND that URL.
One line per dependency says which. COMMAND's exit code is ours; the embedded servers stop
after it, also on Ctrl-C. TEST_MQTT_BROKER=amqtt tells the tests the broker is the embedded
amqtt (no shared subscriptions).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import tempfile
from dataclasses import replace
from pathlib import Path

from tonypi_runtime.config import ConfigError, ServiceUrl, process_env

from .dependencies import DEPENDENCIES, Dependency, is_loopback
from .embedded import EmbeddedUnavailable
from .ports import free_loopback_port
from .probes import tcp_answers
from .supervisor import ChildExited, Supervisor

# dependency name -> (the tests' variable, its default: the machine's usual address)
TEST_VARIABLES = {
    "mqtt": ("TEST_MQTT_URL", "mqtt://127.0.0.1:1883"),
    "nats": ("TEST_NATS_URL", "nats://127.0.0.1:4222"),
    "postgres": ("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
}
READY_TIMEOUT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")


def run(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("tonypi with-deps: no command given (tonypi with-deps -- pytest ...)")
        return 2
    try:
        return asyncio.run(_with_deps(command, dict(process_env())))
    except ConfigError as exc:
        print(f"tonypi with-deps: configuration error: {exc}")
        return 2


async def _url_for(dependency: Dependency, env: dict[str, str]) -> tuple[str, ServiceUrl, bool]:
    """(variable, url, answering) for what the tests are told to use."""
    variable, default = TEST_VARIABLES[dependency.name]
    url = dependency.parse({dependency.variable: env.get(variable) or default})
    return variable, url, await tcp_answers(url.host, url.port)


async def _with_deps(command: list[str], env: dict[str, str]) -> int:
    supervisor = Supervisor()
    data_root = Path(tempfile.mkdtemp(prefix="tonypi-test-deps-"))
    data_root.chmod(0o755)  # as root, PostgreSQL runs as an unprivileged user that must enter it
    test_env: dict[str, str] = {}
    lines: list[str] = []
    try:
        embedded = []
        for dependency in DEPENDENCIES:
            variable, url, answering = await _url_for(dependency, env)
            if answering:
                test_env[variable] = url.with_credentials
                lines.append(f"with-deps: {dependency.name}: using {url.redacted} (already running)")
                continue
            if not is_loopback(url.host):
                lines.append(f"with-deps: {dependency.name}: {url.redacted} ({variable}) does not answer")
                test_env[variable] = url.with_credentials
                continue
            free = replace(url, host="127.0.0.1", port=free_loopback_port())
            server = dependency.embed(free, data_root, env)
            embedded.append(server)
            test_env[variable] = free.with_credentials
            if dependency.name == "mqtt":
                test_env["TEST_MQTT_BROKER"] = "amqtt"
            lines.append(
                f"with-deps: {dependency.name}: started embedded {server.description} on "
                f"127.0.0.1:{free.port} (nothing answered at {url.host}:{url.port})"
            )
        for server in embedded:
            await asyncio.to_thread(server.prepare)
        if embedded:
            await supervisor.wait_ready(
                await supervisor.start_group([s.spec for s in embedded]), READY_TIMEOUT
            )
        for line in lines:
            supervisor.say(line)
        return await _run_command(command, {**env, **test_env})
    except (EmbeddedUnavailable, OSError, ChildExited, TimeoutError) as exc:
        supervisor.say(f"with-deps: cannot start what the tests need: {exc}")
        return 1
    finally:
        await supervisor.stop_all()
        shutil.rmtree(data_root, ignore_errors=True)


async def _run_command(command: list[str], env: dict[str, str]) -> int:
    """COMMAND in our process group: a terminal's Ctrl-C reaches it as well as us; we wait
    for it to finish (it stops its own work), then stop the servers."""
    process = await asyncio.create_subprocess_exec(*command, env=env)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _forward, process, sig)
    try:
        return await process.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _forward(process: asyncio.subprocess.Process, sig: int) -> None:
    # SIGINT from a terminal reached the whole group already; a SIGTERM sent to us alone
    # is passed on.
    if sig == signal.SIGTERM and process.returncode is None:
        os.kill(process.pid, sig)
