"""The `tonypi-ingest` process: SIGTERM drains and exits 0; a bad setting is one line and exit 2;
a persistent MQTT session keeps what robots sent while ingest was away."""

from __future__ import annotations

import asyncio
import json
import subprocess

import aiohttp
import pytest

from tests.conftest import EMBEDDED_AMQTT
from tests.support.processes import BIN, ServiceProcess

from .conftest import raw, wait_stored

BURST = 2000


async def received_total(url: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        body = await resp.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("tonypi_ingest_messages_received_total{")
    )


async def test_sigterm_flushes_everything_received_and_exits_0(
    ingest_env, js, mqtt, mqtt_prefix, stream_names, tmp_path
):
    log_path = tmp_path / "ingest.log"
    url = f"http://127.0.0.1:{ingest_env['INGEST_PORT']}"
    proc = ServiceProcess("tonypi-ingest", {**ingest_env, "LOG_FORMAT": "json"}, log_path=log_path).start()
    try:
        await proc.async_wait_http_ok(url + "/readyz")
        for n in range(BURST):  # QoS 0: as fast as the client goes, so publishes are still in flight
            await mqtt.publish(
                mqtt_prefix + "tonypi/sensors/burst", raw({"sensor_type": "x", "value": n}), qos=0
            )
        async with asyncio.timeout(20):
            while await received_total(url) < BURST:
                await asyncio.sleep(0.01)
        code = await asyncio.to_thread(proc.stop, 20)
    finally:
        proc.kill()
    assert code == 0, proc.log_text()
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]  # LOG_FORMAT=json: JSON lines
    assert lines[-1]["msg"] == "stopped cleanly"
    # A clean stop logs no error: command delivery's pull subscriptions once held the
    # connection's drain until it timed out, and asyncio logged the cancelled drain.
    assert [line["msg"] for line in lines if line["level"] in ("ERROR", "CRITICAL")] == []
    assert len(lines) < 20  # lines for events worth attention, not one per message
    messages = await wait_stored(js, stream_names.events, BURST, timeout=5)
    assert sorted(m.event.payload["value"] for m in messages) == list(range(BURST))


def test_bad_setting_is_one_line_naming_the_variable_and_exit_2(ingest_env):
    result = subprocess.run(
        [str(BIN / "tonypi-ingest")],
        env={**ingest_env, "NATS_URL": "http://127.0.0.1:4222"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "NATS_URL" in lines[0] and "nats://" in lines[0]


def test_bad_buffer_size_is_refused(ingest_env):
    result = subprocess.run(
        [str(BIN / "tonypi-ingest")],
        env={**ingest_env, "INGEST_BUFFER_SIZE": "lots"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stderr.count("\n")) == (2, 1)
    assert "INGEST_BUFFER_SIZE" in result.stderr


@pytest.mark.skipif(
    EMBEDDED_AMQTT,
    reason="the embedded amqtt did not hand a returning persistent session the QoS 1 messages "
    "sent while it was away (Mosquitto does); make test on a machine without Mosquitto",
)
async def test_persistent_session_keeps_qos1_messages_sent_while_ingest_was_down(
    ingest_env, js, mqtt, mqtt_prefix, stream_names, run_id
):
    from tonypi_ingest.config import load_config

    from .conftest import RunningIngest

    config = load_config({**ingest_env, "MQTT_CLIENT_ID": f"ingest-test-{run_id}"})
    first = await RunningIngest(config).start()
    await first.stop()
    for n in range(50):  # nobody is subscribed now; the broker keeps them for the session
        await mqtt.publish(mqtt_prefix + "tonypi/logs/away", raw({"message": f"m{n}"}), qos=1)
    second = await RunningIngest(config).start()
    try:
        messages = await wait_stored(js, stream_names.events, 50)
        assert sorted(m.event.payload["message"] for m in messages) == sorted(f"m{n}" for n in range(50))
    finally:
        await second.stop()


def test_port_in_use_is_one_line_and_exit_2(ingest_env):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(BIN / "tonypi-ingest")],
            env={**ingest_env, "INGEST_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert (result.returncode, result.stderr.count("\n")) == (2, 1), result.stderr
    assert "INGEST_PORT" in result.stderr
