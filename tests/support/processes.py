"""Starting the real service processes (console scripts) for end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

BIN = Path(sys.executable).parent


def popen_logged(command: list[str], env: dict[str, str], log_path: Path, **kwargs) -> subprocess.Popen:
    """Start command with stdout and stderr appended to log_path (the child keeps the file)."""
    with open(log_path, "ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, **kwargs)


class ServiceProcess:
    """A console script run with a test's environment; stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, script: str, env: dict[str, str], *args: str, log_path: Path | None = None):
        self.script, self.args = script, args
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        command = [str(BIN / self.script), *self.args]
        if self.log_path is None:
            self.proc = subprocess.Popen(
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
        else:
            self.proc = popen_logged(command, self.env, self.log_path)
        return self

    def wait_http_ok(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.script} exited with {self.proc.returncode}; log: {self.log_text()}"
                )
            try:
                with urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (URLError, OSError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.script}: {url} not OK within {timeout}s; log: {self.log_text()}")

    async def async_wait_http_ok(self, url: str, timeout: float = 30.0) -> None:
        await asyncio.to_thread(self.wait_http_ok, url, timeout)

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> int | None:
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode
