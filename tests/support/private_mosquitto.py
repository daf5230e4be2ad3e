"""A private Mosquitto (free loopback port, a temp dir) with a password file and an ACL of
the test's own, for what the shared broker (anonymous, no ACL) cannot show: what the broker
answers a client its ACL refuses. The machine's `mosquitto`; skipped with a hint outside CI
when it is missing (tests/support/tools.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
        _wait_for(port, proc, log, timeout)
        yield port
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(home, ignore_errors=True)


def _wait_for(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"the private mosquitto is not listening on {port} after {timeout:g}s")
