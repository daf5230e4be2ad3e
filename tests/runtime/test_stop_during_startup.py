"""`podman stop` (SIGTERM) while a service is still waiting for its brokers: it exits 0 at
once, rather than retrying until the orchestrator's SIGKILL. Nothing answers on the
addresses (a port nothing listens on, on loopback)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration  # starts each service process

NOBODY = free_port()  # reserved and released: nothing listens there


@pytest.mark.parametrize(
    ("script", "waiting_for"),
    [("tonypi-projector", "PostgreSQL"), ("tonypi-query", "PostgreSQL"), ("tonypi-ingest", "MQTT broker")],
)
def test_sigterm_while_connecting_exits_0_promptly(script, waiting_for, tmp_path: Path):
    env = {
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{NOBODY}/tonypi_none",
        "NATS_URL": f"nats://127.0.0.1:{NOBODY}",
        "MQTT_URL": f"mqtt://127.0.0.1:{NOBODY}",
        "INGEST_PORT": str(free_port()),
        "PROJECTOR_PORT": str(free_port()),
        "QUERY_PORT": str(free_port()),
    }
    service = ServiceProcess(script, env, log_path=tmp_path / "service.log").start()
    try:
        deadline = time.monotonic() + 30
        while f"{waiting_for} at" not in service.log_text():  # its first retry has begun
            assert service.proc.poll() is None and time.monotonic() < deadline, service.log_text()
            time.sleep(0.05)
        service.proc.send_signal(signal.SIGTERM)
        # The retry waits grow to 15 s: without the fix this outlives the wait.
        code = service.proc.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script} still running 20 s after SIGTERM: {service.log_text()}")
    finally:
        service.kill()
    assert code == 0, service.log_text()
