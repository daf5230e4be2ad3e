"""A PostgreSQL server of a test's own, on a free port with its data in a temp dir, so a
test may restart it without touching the PostgreSQL everyone shares."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*cmd: str, timeout: float = 60) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=timeout)


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tonypi_pg_"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/tonypi_db"

    def start(self) -> PrivatePostgres:
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self._ctl("start")
        return self

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            *extra,
            action,
        )

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def pause(self) -> None:
        """Stopped with its data kept, until resume()."""
        self._ctl("stop", "-m", "fast")

    def resume(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
