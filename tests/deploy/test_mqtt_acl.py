"""Per-robot MQTT identity (issue 11), on the REAL Mosquitto started by the shipped
entrypoint with the shipped ACL and a password file made by `tonypi mqtt`: a robot may
publish only on its own topics and reads only its own replies; nobody connects without
credentials. Both ways of hashing (mosquitto_passwd, and the hashlib fallback) are
accepted by the broker."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import aiomqtt
import pytest
from tonypi_cli import mqtt_users

from .test_brokers import MOSQUITTO_DIR, mosquitto_dirs  # noqa: F401 - the fixture

TIMEOUT = 10


def _broker(mosquitto_dirs, users: list[str], *, fallback: bool = False, monkeypatch=None):  # noqa: F811
    broker = mosquitto_dirs()
    password_file = broker.data.parent / f"passwd-{uuid.uuid4().hex[:6]}"
    if fallback:
        monkeypatch.setattr(mqtt_users.shutil, "which", lambda *_a, **_k: None)
    passwords = {user: mqtt_users.add(password_file, user) for user in users}
    password_file.chmod(0o644)  # the broker copies it after dropping root
    broker.env["MOSQUITTO_PASSWORD_FILE"] = str(password_file)
    return broker.start(), passwords


def _client(broker, user: str, password: str) -> aiomqtt.Client:
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=password,
        identifier=f"{user}-{uuid.uuid4().hex[:6]}",
        timeout=5,
    )


async def _next(messages, timeout: float = TIMEOUT) -> aiomqtt.Message:
    return await asyncio.wait_for(anext(messages), timeout)


@pytest.mark.integration  # starts Mosquitto
async def test_a_robot_publishes_only_on_its_own_topics(mosquitto_dirs):  # noqa: F811
    broker, pw = _broker(mosquitto_dirs, ["ingest", "robot_a", "robot_b"])
    assert "per-client credentials and ACL on" in broker.log.read_text()
    async with (
        _client(broker, "ingest", pw["ingest"]) as ingest,
        _client(broker, "robot_a", pw["robot_a"]) as robot,
    ):
        await ingest.subscribe("tonypi/#", qos=1)
        messages = ingest.messages.__aiter__()
        # Speaking for robot_b, then for itself, on one connection (MQTT keeps the order):
        await robot.publish("tonypi/status/robot_b", b'{"status": "emergency_stopped"}', qos=1)
        await robot.publish("tonypi/items/robot_b", b'{"forged": true}', qos=1)  # a reply: ingest's to send
        await robot.publish("tonypi/status/robot_a", b'{"status": "online"}', qos=1)
        first = await _next(messages)
        assert str(first.topic) == "tonypi/status/robot_a"  # the two forged ones never arrived
        # Topics with no id in them (gen-1 battery) are open to every robot: strict mode's job.
        await robot.publish("tonypi/battery", b'{"robot_id": "robot_a", "percentage": 50}', qos=1)
        assert str((await _next(messages)).topic) == "tonypi/battery"


@pytest.mark.integration  # starts Mosquitto
async def test_a_robot_reads_only_its_own_replies_and_commands(mosquitto_dirs):  # noqa: F811
    broker, pw = _broker(mosquitto_dirs, ["ingest", "robot_a"])
    async with (
        _client(broker, "ingest", pw["ingest"]) as ingest,
        _client(broker, "robot_a", pw["robot_a"]) as robot,
    ):
        await robot.subscribe("tonypi/#", qos=1)  # asks for everything
        messages = robot.messages.__aiter__()
        await ingest.publish("tonypi/items/robot_b", b'{"item": "not yours"}', qos=1)
        await ingest.publish("tonypi/commands/robot_b", b'{"type": "stop"}', qos=1)
        await ingest.publish("tonypi/items/robot_a", b'{"item": "yours"}', qos=1)
        got = await _next(messages)
        assert (str(got.topic), got.payload) == ("tonypi/items/robot_a", b'{"item": "yours"}')
        await ingest.publish("tonypi/commands/broadcast", b'{"type": "status_request"}', qos=1)
        assert str((await _next(messages)).topic) == "tonypi/commands/broadcast"


@pytest.mark.integration  # starts Mosquitto
async def test_nobody_connects_without_valid_credentials(mosquitto_dirs, monkeypatch):  # noqa: F811
    broker, pw = _broker(mosquitto_dirs, ["ingest", "robot_a"], fallback=True, monkeypatch=monkeypatch)
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user"):
        async with aiomqtt.Client("127.0.0.1", broker.port, timeout=5):
            pass
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori[sz]ed|bad user"):
        async with _client(broker, "robot_a", pw["ingest"]):
            pass
    # The hashlib fallback wrote this file: the broker takes its hashes.
    async with _client(broker, "robot_a", pw["robot_a"]) as robot:
        await robot.publish("tonypi/status/robot_a", b"{}", qos=1)


def test_a_robot_id_the_acl_cannot_bind_is_refused(tmp_path, capsys):
    args = mqtt_users.argparse.Namespace(
        mqtt_command="add-robot", robot_id="a/b", password_file=tmp_path / "p"
    )
    assert mqtt_users.run(args) == 2
    assert not (tmp_path / "p").exists()


@pytest.mark.integration  # starts Mosquitto
async def test_the_sim_login_speaks_for_robots_but_never_sends_commands(mosquitto_dirs):  # noqa: F811
    """The compose sim profile's `sim` user: every robot topic, but not ingest's part."""
    broker, pw = _broker(mosquitto_dirs, ["ingest", "sim"])
    async with (
        _client(broker, "ingest", pw["ingest"]) as ingest,
        _client(broker, "sim", pw["sim"]) as sim,
    ):
        await ingest.subscribe("tonypi/#", qos=1)
        messages = ingest.messages.__aiter__()
        await sim.publish("tonypi/commands/robot_b", b'{"type": "shutdown"}', qos=1)  # an operator's
        await sim.publish("tonypi/status/robot_b", b'{"status": "online"}', qos=1)
        assert str((await _next(messages)).topic) == "tonypi/status/robot_b"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda path: path.write_text("REPLACE_ME\n"), "still the placeholder"),
        (lambda path: path.mkdir(), "must be files"),  # compose's bind mount of a missing file
    ],
)
@pytest.mark.integration  # starts Mosquitto
def test_mosquitto_refuses_a_password_file_that_is_not_one(mosquitto_dirs, make, said):  # noqa: F811
    broker = mosquitto_dirs()
    password_file = broker.data.parent / f"passwd-{uuid.uuid4().hex[:6]}"
    make(password_file)
    done = subprocess.run(
        ["sh", str(MOSQUITTO_DIR / "entrypoint.sh")],
        env={**broker.env, "MOSQUITTO_PASSWORD_FILE": str(password_file)},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 2 and said in done.stderr, done.stderr


@pytest.mark.parametrize("robot_id", ["response", "broadcast", "ingest", "_fleet", "_tokens", "_x"])
def test_a_reserved_robot_id_cannot_become_an_mqtt_login(tmp_path, capsys, robot_id):
    """`%u` in the ACL would let a login named `response` read every robot's answers."""
    args = mqtt_users.argparse.Namespace(
        mqtt_command="add-robot", robot_id=robot_id, password_file=tmp_path / "p"
    )
    assert mqtt_users.run(args) == 2
    assert "is reserved" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_the_service_user_is_still_added_by_add_user(tmp_path, monkeypatch):
    monkeypatch.setattr(mqtt_users.shutil, "which", lambda *_a, **_k: None)
    args = mqtt_users.argparse.Namespace(mqtt_command="add-user", name="ingest", password_file=tmp_path / "p")
    assert mqtt_users.run(args) == 0
    assert (tmp_path / "p").read_text().startswith("ingest:$7$")
