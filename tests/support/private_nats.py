"""A private nats-server (JetStream, store in a temp dir, free port) a test may kill and restart
without touching the shared one."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.ports import free_port


def nats_server_binary() -> str:
    for candidate in ("/usr/sbin/nats-server", shutil.which("nats-server")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("no nats-server binary found")


class PrivateNats:
    def __init__(self, store: Path) -> None:
        self.store, self.port = store, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("private nats-server did not start")

    def stop(self) -> None:
        """A clean shutdown; start() again brings it back on the same port and store."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def kill(self) -> None:
        """A crash, not a shutdown: SIGKILL."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
