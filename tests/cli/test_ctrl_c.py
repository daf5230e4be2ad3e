"""`make run` in a real terminal, Ctrl-C: make exits 0 (not 130). A pseudo-terminal stands
in for the user's: the tty driver turns the typed Ctrl-C into SIGINT for the foreground
process group, exactly as a terminal does."""

from __future__ import annotations

import os
import pty
import select
import shutil
import sys
import time

import pytest

from tests.support.ports import free_port

from .conftest import BASE_ENV

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
]  # runs `make run`


def read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{marker!r} not seen within {timeout}s:\n{out.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: everything exited
                break
            out += chunk
    return out


@pytest.mark.timeout(120)
def test_ctrl_c_in_a_terminal_stops_make_run_with_exit_code_0(data_dir, tmp_path):
    makefile = tmp_path / "Makefile"
    # What `make run` runs, with the brokers only (the point is the signal path, not the services).
    makefile.write_text(f"run:\n\t{sys.executable} -m tonypi_cli up --embedded-when-down --deps-only\n")
    env = {
        **BASE_ENV,
        "TONYPI_DATA_DIR": str(data_dir),
        "MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/tonypi_db",
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        os.execvpe("make", ["make", "-s", "-f", str(makefile), "run"], env)
    try:
        read_until(fd, b"up: dependencies ready", 90)
        os.write(fd, b"\x03")  # Ctrl-C, typed
        out = read_until(fd, b"up: stopped", 60)
        _, status = os.waitpid(pid, 0)
    except BaseException:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
