"""The whole secured deployment of issue 16, as docs/deploy.md's one-shot steps make it: a
nats-server with the shipped auth.conf (its streams declared by `tonypi streams declare` as
`admin`), PostgreSQL with the per-service logins of `tonypi db roles`, Mosquitto from the
shipped entrypoint with the shipped ACL and a password file made by `tonypi mqtt add-user` /
`add-robot`, and the three services each as its own user (ingest: strict identity,
INGEST_IDLESS_TOPICS=answers, no database). Operators' tokens are made with `tonypi token
create` as `admin`."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from tests.conftest import PG_ADMIN_URL
from tests.deploy.test_brokers import Mosquitto, stop
from tests.support.db_logins import Logins, db_logins
from tests.support.ports import free_port
from tests.support.processes import BIN, ServiceProcess
from tests.support.tools import tool

from .conftest import SecuredNats, declare_as, server_binary, start_secured

API = "/api/robots-db"
# Robot logins the password file holds (each robot's MQTT user name is its id).
ROBOTS = ("secA", "secB", "secC", "secV")
# What the deployment's environment must not lend a service (the test runner's own variables).
FOREIGN = ("DATABASE_URL", "MQTT_URL", "MQTT_USERNAME", "MQTT_PASSWORD", "MQTT_TOPIC_PREFIX", "NATS_URL")


def cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(BIN / "tonypi"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check:
        assert done.returncode == 0, f"tonypi {' '.join(args)}: {done.stdout}{done.stderr}"
    return done


def mqtt_login(password_file: Path, *args: str) -> str:
    """`tonypi mqtt add-user|add-robot …`: the password it printed once."""
    done = cli("mqtt", *args, "--password-file", str(password_file), env={})
    return re.search(r"password: (\S+)", done.stdout).group(1)


async def make_password_file(home: Path) -> tuple[Path, dict[str, str]]:
    """The broker's password file, each login made by `tonypi mqtt` (side by side, each into
    a file of its own: one `user:hash` line each, joined as the CLI would have appended them)."""
    logins = {"ingest": ("add-user", "ingest")} | {robot: ("add-robot", robot) for robot in ROBOTS}
    parts = {user: home / f"passwd.{user}" for user in logins}
    made = await asyncio.gather(*(asyncio.to_thread(mqtt_login, parts[u], *a) for u, a in logins.items()))
    password_file = home / "passwd"
    password_file.write_text("".join(part.read_text() for part in parts.values()))
    password_file.chmod(0o644)  # the broker drops root before it reads it
    return password_file, dict(zip(logins, made, strict=True))


@dataclass
class Deployment:
    nats: SecuredNats
    logins: Logins
    mqtt_port: int
    password_file: Path
    mqtt_passwords: dict[str, str]
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.envs['query']['QUERY_PORT']}"

    def mqtt_env(self, user: str) -> dict[str, str]:
        return {
            "MQTT_URL": f"mqtt://127.0.0.1:{self.mqtt_port}",
            "MQTT_USERNAME": user,
            "MQTT_PASSWORD": self.mqtt_passwords[user],
        }

    def session(self, token: str | None, **kwargs) -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return aiohttp.ClientSession(self.api_url, headers=headers, **kwargs)

    def make_token(self, name: str, role: str) -> str:
        """`tonypi token create` as the NATS admin, waiting until the API accepts it."""
        env = {**self.nats.env("admin"), "DATABASE_URL": self.logins.query}
        return cli("token", "create", "--name", name, "--role", role, "--quiet", env=env).stdout.strip()

    async def metric(self, service: str, name: str) -> float:
        """The sum of a service's samples of `name` (a metric, or one with its labels), from /metrics."""
        port = self.envs[service][f"{service.upper()}_PORT"]
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            text = await resp.text()
        exact = () if "{" in name else (f"{name} ", f"{name}{{")
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(exact or (name,)))

    def logs(self) -> dict[str, str]:
        return {name: s.log_path.read_text(errors="replace") for name, s in self.services.items()}


async def start_service(deployment: Deployment, name: str, script: str, env: dict[str, str], log: Path):
    port_variable = f"{name.upper()}_PORT"
    env = {**env, port_variable: str(free_port())}
    service = ServiceProcess(script, env, log_path=log)
    for variable in FOREIGN:  # only what this test gives it
        if variable not in env:
            service.env.pop(variable, None)
    deployment.services[name], deployment.envs[name] = service, service.env
    service.start()
    await service.async_wait_http_ok(f"http://127.0.0.1:{env[port_variable]}/readyz")


async def deploy(stack: AsyncExitStack, which: str, tmp: Path, run_id: str) -> Deployment:
    """Everything started (and registered on `stack` to stop), in the deploy's order; the
    independent one-shot steps side by side."""
    tool("mosquitto"), tool("mosquitto_passwd")  # skipped (failed in CI) before anything starts
    home = Path(tempfile.mkdtemp(prefix="tonypi-secured-"))
    home.chmod(0o755)  # the broker drops root: pytest's tmp_path is root's alone
    stack.callback(shutil.rmtree, home, True)
    mqtt_logins = asyncio.create_task(make_password_file(home))
    stack.push_async_callback(_settled, mqtt_logins)

    proc, nats_server = start_secured(server_binary(which), tmp)
    stack.callback(stop, proc)
    done = await asyncio.to_thread(declare_as, nats_server, "admin")
    assert done.returncode == 0, done
    database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/tonypi_secured_{run_id}"
    stack.push_async_callback(_drop_database, database_url)
    logins = await stack.enter_async_context(db_logins(database_url, run_id))

    password_file, passwords = await mqtt_logins
    broker = Mosquitto(home)
    broker.env["MOSQUITTO_PASSWORD_FILE"] = str(password_file)
    broker.start()
    stack.callback(broker.stop)
    assert "per-client credentials and ACL on" in broker.log.read_text()

    deployment = Deployment(nats_server, logins, broker.port, password_file, passwords)
    stack.callback(lambda: [s.stop() for s in deployment.services.values()])
    projector = {**nats_server.env("projector"), "DATABASE_URL": logins.projector}
    ingest = {
        **nats_server.env("ingest"),
        **deployment.mqtt_env("ingest"),
        "INGEST_STRICT_IDENTITY": "true",
        "INGEST_IDLESS_TOPICS": "answers",
    }
    await asyncio.gather(
        start_service(deployment, "projector", "tonypi-projector", projector, tmp / "projector.log"),
        start_service(deployment, "ingest", "tonypi-ingest", ingest, tmp / "ingest.log"),
    )
    query = {**nats_server.env("query"), "DATABASE_URL": logins.query}
    await start_service(deployment, "query", "tonypi-query", query, tmp / "query.log")
    roles = {"operator": "sec-operator", "viewer": "sec-viewer", "admin": "sec-admin"}
    made = await asyncio.gather(*(asyncio.to_thread(deployment.make_token, n, r) for r, n in roles.items()))
    deployment.tokens = dict(zip(roles, made, strict=True))
    return deployment


async def _settled(task: asyncio.Task) -> None:
    """A step's task finished (failed or not) before its files are removed."""
    await asyncio.gather(task, return_exceptions=True)


async def _drop_database(url: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()
