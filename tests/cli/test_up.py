"""`tonypi up` on a machine where nothing answers: it starts embedded MQTT, NATS and
PostgreSQL with their data in the data directory, brings the services up, a simulated
robot becomes visible through the API, and SIGTERM stops every process it started."""

import asyncio
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import Request, urlopen

import nats
import psutil
import pytest

from tests.support.ports import free_port
from tests.support.processes import popen_logged

from .conftest import BASE_ENV

pytestmark = pytest.mark.slow  # starts embedded servers (initdb): leave out with -m 'not slow'


async def reserved_stream_bytes(url: str) -> int:
    nc = await nats.connect(url)
    try:
        return sum(info.config.max_bytes for info in await nc.jetstream().streams_info())
    finally:
        await nc.close()


def wait_for(predicate, timeout: float, what: str, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s; output:\n{log.read_text()[-5000:] if log else ''}")


def get_json(url: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urlopen(Request(url, headers=headers), timeout=2) as response:
            return json.load(response)
    except OSError:
        return None


@pytest.mark.timeout(120)
def test_up_with_nothing_running_embeds_everything_and_stops_cleanly(data_dir, tmp_path):
    mqtt, nats, pg, ingest, projector, query = (free_port() for _ in range(6))
    env = {
        **BASE_ENV,
        "MQTT_URL": f"mqtt://127.0.0.1:{mqtt}",
        "NATS_URL": f"nats://127.0.0.1:{nats}",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg}/tonypi_db",
        "TONYPI_DATA_DIR": str(data_dir),
        "INGEST_PORT": str(ingest),
        "PROJECTOR_PORT": str(projector),
        "QUERY_PORT": str(query),
        "MQTT_SHARED_GROUP": "ingest",
    }  # amqtt has no $share: up must drop it, or ingest hears nothing
    log = tmp_path / "up.log"
    up = popen_logged(
        [sys.executable, "-m", "tonypi_cli", "up", "--embedded-when-down", "--robots", "2"], env, log
    )
    try:
        wait_for(lambda: "up: ready" in log.read_text(), 60, "up did not get ready", log)
        text = log.read_text()
        assert "mqtt: started embedded amqtt" in text and f"127.0.0.1:{mqtt}" in text
        assert "nats: started embedded nats-server" in text and f"data in {data_dir}/nats" in text
        assert "postgres: started embedded PostgreSQL" in text and f"data in {data_dir}/postgres" in text
        assert "ingest runs without MQTT_SHARED_GROUP" in text
        assert (data_dir / "postgres" / "PG_VERSION").exists() and (data_dir / "nats" / "jetstream").is_dir()
        for port in (ingest, projector, query):
            assert get_json(f"http://127.0.0.1:{port}/readyz")["status"] == "ready"
        # An embedded nats-server may reserve at most 75 % of the free disk: the streams are
        # sized for a development box, not production's 50 GiB (which failed on a CI box).
        assert asyncio.run(reserved_stream_bytes(f"nats://127.0.0.1:{nats}")) <= 2 * 1024**3
        assert f"http://127.0.0.1:{query}/api/robots-db/robots" in text
        assert f"Database  postgresql://postgres@127.0.0.1:{pg}/tonypi_db" in text
        # The development token printed on the ready block is what the API takes.
        token = re.search(r"Token\s+(tpk_\S+)", text).group(1)

        # A simulated robot's messages travel MQTT -> ingest -> NATS -> projector -> PostgreSQL -> API.
        robots_url = f"http://127.0.0.1:{query}/api/robots-db/robots"

        def simulated_robots():
            ids = {r["robot_id"] for r in get_json(robots_url, token) or []}
            return ids >= {"tonypi_sim01", "tonypi_sim02"}  # one gen 1, one gen 2

        wait_for(simulated_robots, 30, "simulated robots not visible through the API", log)

        started = psutil.Process(up.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in started)
        for expected in (
            "nats-server",
            "tonypi_cli.embedded_mqtt",
            "postgres",
            "tonypi-ingest",
            "tonypi-projector",
            "tonypi-query",
            "simulate",
        ):
            assert expected in names
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            code = up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()  # its children get their stop signal when it dies (PR_SET_PDEATHSIG)
            raise
    assert code == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "up: stopped\n" in text
    survivors = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []


@pytest.mark.timeout(60)
def test_killing_up_itself_still_stops_what_it_started(data_dir, tmp_path):
    """SIGKILL gives up no chance to clean up: its children get their stop signal from the
    kernel (PR_SET_PDEATHSIG) and exit on their own."""
    env = {
        **BASE_ENV,
        "TONYPI_DATA_DIR": str(data_dir),
        "MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
        "NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/tonypi_db",
    }
    log = tmp_path / "up.log"
    up = popen_logged(
        [sys.executable, "-m", "tonypi_cli", "up", "--embedded-when-down", "--deps-only"], env, log
    )
    try:
        wait_for(lambda: "up: dependencies ready" in log.read_text(), 30, "dependencies not ready", log)
        started = psutil.Process(up.pid).children()
        assert len(started) == 3
    finally:
        up.kill()
        up.wait(10)
    _gone, alive = psutil.wait_procs(started, timeout=15)
    assert alive == [], [p.cmdline() for p in alive]


def _until_stopped(up: subprocess.Popen, log) -> None:
    up.send_signal(signal.SIGTERM)
    try:
        code = up.wait(60)
    except subprocess.TimeoutExpired:
        up.kill()
        raise
    assert code == 0, log.read_text()[-3000:]


@pytest.mark.timeout(300)
def test_a_newcomers_relative_data_dir_survives_a_second_start(tmp_path):
    """`make run` as a newcomer runs it: TONYPI_DATA_DIR=.data, relative to the working
    directory. Start, see the robots, stop; start again: it comes up on the same data
    (no second initdb) and the API still lists the same robots."""
    workdir = Path(tempfile.mkdtemp(prefix="tonypi-newcomer-"))
    workdir.chmod(0o755)  # as root, PostgreSQL runs as an unprivileged user that must enter it
    mqtt, nats, pg, ingest, projector, query = (free_port() for _ in range(6))
    env = {
        **BASE_ENV,
        "MQTT_URL": f"mqtt://127.0.0.1:{mqtt}",
        "NATS_URL": f"nats://127.0.0.1:{nats}",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg}/tonypi_db",
        "TONYPI_DATA_DIR": ".data",
        "INGEST_PORT": str(ingest),
        "PROJECTOR_PORT": str(projector),
        "QUERY_PORT": str(query),
    }
    robots_url = f"http://127.0.0.1:{query}/api/robots-db/robots"

    def robot_ids(log: Path) -> set[str]:
        # The development token each start prints on its ready block is what the API takes.
        found = re.search(r"Token\s+(tpk_\S+)", log.read_text())
        return {r["robot_id"] for r in get_json(robots_url, found.group(1)) or []} if found else set()

    try:
        first = tmp_path / "first.log"
        up = popen_logged(
            [sys.executable, "-m", "tonypi_cli", "up", "--embedded-when-down", "--robots", "2"],
            env,
            first,
            cwd=workdir,
        )
        try:
            wait_for(
                lambda: robot_ids(first) >= {"tonypi_sim01", "tonypi_sim02"}, 120, "robots not listed", first
            )
            seen = robot_ids(first)
        finally:
            _until_stopped(up, first)
        assert "WARNING" not in first.read_text(), first.read_text()[-3000:]
        assert (workdir / ".data" / "postgres" / "PG_VERSION").is_file()
        assert not (workdir / ".data" / "postgres" / ".data").exists()  # -D not taken relative twice

        second = tmp_path / "second.log"
        up = popen_logged(
            [sys.executable, "-m", "tonypi_cli", "up", "--embedded-when-down", "--robots", "0"],
            env,
            second,
            cwd=workdir,
        )
        try:
            wait_for(lambda: "up: ready" in second.read_text(), 120, "second start not ready", second)
            assert robot_ids(second) == seen
        finally:
            _until_stopped(up, second)
        assert "initdb" not in second.read_text()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
