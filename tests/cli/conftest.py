import os
import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def data_dir():
    """A data directory PostgreSQL can reach when it runs as an unprivileged user (we may be
    root): pytest's own tmp_path sits under a 0700 directory."""
    path = Path(tempfile.mkdtemp(prefix="tonypi-up-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def free_loopback_url(scheme: str, port: int, path: str = "") -> str:
    return f"{scheme}://127.0.0.1:{port}{path}"


BASE_ENV = {
    k: v
    for k, v in os.environ.items()
    if k not in ("MQTT_URL", "NATS_URL", "DATABASE_URL", "MQTT_TOPIC_PREFIX")
}
