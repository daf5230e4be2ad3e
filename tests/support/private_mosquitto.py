"""A private Mosquitto (free loopback port, a temp dir) with a password file and an ACL of
the test's own, for what the shared broker (anonymous, no ACL) cannot show: what the broker
answers a client its ACL refuses. The machine's `mosquitto`; skipped with a hint outside CI
when it is missing (tests/support/tools.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.deploy.test_brokers import stop, wait_for_port
from tests.support.ports import free_port
from tests.support.tools import tool


@contextmanager
def private_mosquitto(acl: str, users: dict[str, str], timeout: float = 10.0) -> Iterator[int]:
    """Mosquitto with `users` (name -> password) and `acl` (the acl_file's text), no
    anonymous access; yields its port, stops it (SIGTERM) and removes its files after."""
    broker, passwd = tool("mosquitto"), tool("mosquitto_passwd")
    home = Path(tempfile.mkdtemp(prefix="tonypi-mosquitto-acl-"))
    home.chmod(0o755)  # started as root, the broker drops to its own user before reading these
    proc: subprocess.Popen | None = None
    try:
        (home / "passwd").touch()
        for user, password in users.items():
            subprocess.run([passwd, "-b", str(home / "passwd"), user, password], check=True, timeout=30)
        (home / "acl").write_text(acl)
        port = free_port()
        (home / "mosquitto.conf").write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {home / 'passwd'}\nacl_file {home / 'acl'}\n"
        )
        for name in ("passwd", "acl", "mosquitto.conf"):
            os.chmod(home / name, 0o644)
        log = home / "mosquitto.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [broker, "-c", str(home / "mosquitto.conf")], stdout=out, stderr=subprocess.STDOUT
            )
        wait_for_port(port, proc, log, timeout)
        yield port
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(home, ignore_errors=True)
