"""The broker configs the deployments ship, run for real: the Mosquitto entrypoint starts
the machine's mosquitto with password authentication on or off and with persistence that
survives a restart; both NATS configs pass `nats-server -t`, and a server started from
the single-node config creates the TonyPi streams at their full retention limits."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import aiomqtt
import nats
import pytest
from tonypi_events import StreamNames, StreamStorageExceeded, ensure_streams

from tests.support.ports import free_port

from .conftest import K8S, run, tool

MOSQUITTO_DIR = K8S / "base/mosquitto"
NATS_SINGLE = K8S / "components/nats-single/nats.conf"
NATS_CLUSTER = K8S / "components/nats-cluster/nats.conf"


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listens on {port} after {timeout}s: {log.read_text(errors='replace')[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Mosquitto:
    """deploy's entrypoint.sh and mosquitto.conf, on a free loopback port and a temp dir."""

    def __init__(self, tmp: Path, username: str = "", password: str = ""):
        tool("mosquitto"), tool("mosquitto_passwd")  # fail with a hint when missing
        self.port = free_port()
        self.data, self.log = tmp / "data", tmp / "mosquitto.log"
        self.data.mkdir(exist_ok=True)
        os.chmod(self.data, 0o777)  # mosquitto drops root for its own user before writing here
        conf = (MOSQUITTO_DIR / "mosquitto.conf").read_text()
        conf, listeners = re.subn(r"^listener 1883$", f"listener {self.port} 127.0.0.1", conf, flags=re.M)
        conf, locations = re.subn(
            r"^persistence_location .*$", f"persistence_location {self.data}/", conf, flags=re.M
        )
        assert listeners == locations == 1, "the shipped config changed shape: update this test"
        self.conf = tmp / "base.conf"
        self.conf.write_text(conf)
        self.env = {
            **os.environ,
            "MOSQUITTO_BASE_CONF": str(self.conf),
            "MOSQUITTO_RUN_DIR": str(tmp / "run"),
            "MQTT_USERNAME": username,
            "MQTT_PASSWORD": password,
            "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin",
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["sh", str(MOSQUITTO_DIR / "entrypoint.sh")],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)


@pytest.fixture
def mosquitto_dirs():
    """Brokers in a temp dir the `mosquitto` user can reach: started as root, the broker
    drops to that user before it opens the password file and writes its persistence, and
    pytest's own tmp_path lies under a root-only directory."""
    made: list[Mosquitto] = []
    home = Path(tempfile.mkdtemp(prefix="tonypi-mosquitto-"))
    home.chmod(0o755)

    def make(**credentials) -> Mosquitto:
        broker = Mosquitto(home, **credentials)
        made.append(broker)
        return broker

    try:
        yield make
    finally:
        for broker in made:
            broker.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.integration  # starts a broker
async def test_mosquitto_requires_the_password_when_credentials_are_set(mosquitto_dirs):
    broker = mosquitto_dirs(username="ingest", password="pw-" + uuid.uuid4().hex).start()
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user"):
        async with aiomqtt.Client("127.0.0.1", broker.port, timeout=5):
            pass
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user"):
        async with aiomqtt.Client("127.0.0.1", broker.port, username="ingest", password="wrong", timeout=5):
            pass
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, username="ingest", password=broker.env["MQTT_PASSWORD"], timeout=5
    ) as client:
        await client.publish("tonypi/check", b"ok", qos=1)
    assert "password authentication on" in broker.log.read_text()


@pytest.mark.integration  # starts a broker
async def test_mosquitto_keeps_retained_messages_across_a_restart(mosquitto_dirs):
    broker = mosquitto_dirs().start()
    topic = f"tonypi/deploy-test/{uuid.uuid4().hex}"
    async with aiomqtt.Client("127.0.0.1", broker.port, timeout=5) as client:  # anonymous: no credentials
        await client.publish(topic, b"kept", qos=1, retain=True)
    broker.stop()  # SIGTERM: mosquitto writes its persistence file
    assert any(broker.data.iterdir()), "no persistence file written"
    broker.start()
    async with aiomqtt.Client("127.0.0.1", broker.port, timeout=5) as client:
        await client.subscribe(topic, qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                assert message.payload == b"kept"
                break


@pytest.mark.integration  # starts a broker
def test_mosquitto_refuses_half_set_credentials(mosquitto_dirs):
    broker = mosquitto_dirs(username="ingest")
    done = subprocess.run(
        ["sh", str(MOSQUITTO_DIR / "entrypoint.sh")],
        env=broker.env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 2 and "both MQTT_USERNAME and MQTT_PASSWORD" in done.stderr


# What the server's environment holds in production (tonypi-nats secret, .env).
NATS_PASSWORDS = {
    f"NATS_{user}_PASSWORD": "p" + uuid.uuid4().hex for user in ("INGEST", "PROJECTOR", "QUERY", "ADMIN")
}


@pytest.mark.parametrize("conf", [NATS_SINGLE, NATS_CLUSTER], ids=["single", "cluster"])
def test_nats_config_passes_nats_server_check(conf):
    env = {**os.environ, "POD_NAME": "nats-0", **NATS_PASSWORDS}
    done = run(tool("nats-server"), "-t", "-c", str(conf), env=env)
    assert "is valid" in done.stdout + done.stderr


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([KMGT]?)B?", size.upper()).groups()
    return int(number) * 1024 ** " KMGT".index(unit or " ")


@pytest.mark.parametrize("conf", [NATS_SINGLE, NATS_CLUSTER], ids=["single", "cluster"])
def test_nats_store_limit_covers_the_streams_reservation(conf):
    """The cluster config cannot be started alone; its limit is checked by arithmetic
    (nats-server reads GB as 1024^3, as _bytes does)."""
    streams = StreamNames()
    reserved = streams.events_config().max_bytes + streams.dead_letter_config().max_bytes
    [limit] = re.findall(r"^\s*max_file_store: (\S+)$", conf.read_text(), re.M)
    assert _bytes(limit) >= reserved


def single_node_config(tmp: Path, client_port: int, max_file_store: str | None = None) -> Path:
    conf = NATS_SINGLE.read_text()
    conf = conf.replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{client_port}")
    conf = conf.replace("http: 127.0.0.1:8222", f"http: 127.0.0.1:{free_port()}")
    shutil.copy(NATS_SINGLE.parent / "auth.conf", tmp / "auth.conf")
    conf = re.sub(r"store_dir: \S+", f"store_dir: {tmp / 'jetstream'}", conf)
    if max_file_store:
        conf = re.sub(r"max_file_store: \S+", f"max_file_store: {max_file_store}", conf)
    path = tmp / "nats.conf"
    path.write_text(conf)
    return path


async def create_streams_on(tmp: Path, max_file_store: str | None = None) -> None:
    port = free_port()
    log = tmp / "nats.log"
    conf = single_node_config(tmp, port, max_file_store)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [tool("nats-server"), "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **NATS_PASSWORDS},
        )
    try:
        wait_for_port(port, proc, log)
        nc = await nats.connect(
            f"nats://127.0.0.1:{port}", user="admin", password=NATS_PASSWORDS["NATS_ADMIN_PASSWORD"]
        )
        try:
            # The admin step (`tonypi streams declare`), with the production names and limits.
            await ensure_streams(nc.jetstream(), StreamNames())
        finally:
            await nc.close()
    finally:
        stop(proc)
        shutil.rmtree(tmp / "jetstream", ignore_errors=True)


@pytest.mark.integration  # starts a broker
async def test_single_node_nats_has_room_for_the_streams(tmp_path):
    await create_streams_on(tmp_path)


@pytest.mark.integration  # starts a broker
async def test_a_smaller_store_limit_would_refuse_the_streams(tmp_path):
    """Why max_file_store is set: JetStream reserves every stream's max_bytes up front."""
    with pytest.raises(StreamStorageExceeded, match="set EVENTS_MAX_BYTES lower"):
        await create_streams_on(tmp_path, max_file_store="10GB")
