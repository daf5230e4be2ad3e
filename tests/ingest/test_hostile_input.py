"""Hostile and broken input through the real Mosquitto and NATS (issue 8, ingest rows 1-5,
8-10): every message ends in one outcome and is acknowledged, nothing breaks a connection,
and a small QoS 1 window proves no message is left holding a slot."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from tonypi_events import EventType
from tonypi_ingest import metrics
from tonypi_ingest.config import load_config

from .conftest import RunningIngest, wait_stored

WINDOW = 4  # MQTT_RECEIVE_MAXIMUM: a leaked slot per bad message would stop ingest in a few


def nested(depth: int) -> bytes:
    return b'{"robot_id": "r1", "status": "online", "x": ' + b"[" * depth + b"]" * depth + b"}"


HOSTILE = [  # (row, relative topic, raw payload, dead-letter reason)
    (1, "tonypi/battery", b'{"robot_id":"c36\\u0000x","percentage":1}', "invalid_robot_id"),
    (2, "tonypi/status/r1", json.dumps({"status": "s" * 10_240}).encode(), "invalid_fields"),
    (2, "tonypi/logs/r1", json.dumps({"level": "L" * 10_240, "message": "m"}).encode(), "invalid_fields"),
    (2, "tonypi/battery", json.dumps({"robot_id": "r" * 3000}).encode(), "invalid_robot_id"),
    (3, "tonypi/status/" + "r" * 10_240, b'{"status": "online"}', "invalid_robot_id"),
    (4, "tonypi/status/r1", nested(255), "too_deep"),
    (4, "tonypi/status/r1", nested(30_000), "too_deep"),
    (4, "tonypi/battery", b'{"robot_id": "r\\ud800", "percentage": 1}', "invalid_robot_id"),
    (4, "tonypi/scan/r1", json.dumps({"robot_id": "a+b", "qr": "QR12345"}).encode(), "invalid_robot_id"),
    (5, "tonypi/scan/r1", b'{"robot_id": "s\\u0000", "qr": "QR12345"}', "invalid_robot_id"),
    (8, "tonypi/battery", json.dumps({"robot_id": "a/b"}).encode(), "invalid_robot_id"),
    (8, "tonypi/battery", json.dumps({"robot_id": "a\nb"}).encode(), "invalid_robot_id"),
    (9, "tonypi/status/r1", nested(200), "too_deep"),
    (10, "tonypi/battery", b'{"robot_id": "r1", "percentage": NaN}', "invalid_number"),
    (10, "tonypi/battery", b'{"robot_id": "r1", "percentage": Infinity}', "invalid_number"),
    (10, "tonypi/battery", b'{"robot_id": "r1", "percentage": 1e400}', "invalid_number"),
    (0, "tonypi/status/r1", b'{"status": "online", "note": "a\\u0000"}', "invalid_text"),
]


@pytest.fixture
async def small_window_ingest(ingest_env, js):
    ingest_env = {**ingest_env, "MQTT_RECEIVE_MAXIMUM": str(WINDOW)}
    running = await RunningIngest(load_config(ingest_env)).start()
    yield running
    if not running.task.done():
        await running.stop()


def good(n: int) -> bytes:
    return json.dumps({"robot_id": "ok", "sensor_type": "x", "value": n}).encode()


async def test_hostile_messages_are_dead_lettered_acknowledged_and_harmless(
    small_window_ingest, mqtt, mqtt_prefix, js, stream_names, caplog
):
    caplog.set_level(logging.WARNING)
    outcomes = {o: metrics.OUTCOMES.labels(o)._value.get() for o in ("stored", "dead_lettered")}
    acked, replaced = metrics.MQTT_ACKED._value.get(), metrics.NATS_CLIENTS_REPLACED._value.get()
    rounds = 2  # each message twice: far more bad QoS 1 messages than the window holds
    for _ in range(rounds):
        for _, topic, payload, _ in HOSTILE:
            await mqtt.publish(mqtt_prefix + topic, payload, qos=1)
    for n in range(5):
        await mqtt.publish(mqtt_prefix + "tonypi/sensors/ok", good(n), qos=1)

    # The same bytes twice are one dead letter (Nats-Msg-Id): one per hostile message.
    dead = await wait_stored(js, stream_names.dead_letter, len(HOSTILE))
    assert sorted(d.headers["Tonypi-Reason"] for d in dead) == sorted(r for *_, r in HOSTILE)
    events = await wait_stored(js, stream_names.events, len(HOSTILE) + 5)
    values = sorted(e.event.payload["value"] for e in events if e.event.event_type is EventType.SENSOR)
    assert values == [0, 1, 2, 3, 4]  # the good ones behind them got through the window
    for e in events:  # nothing filed under an id the rule refuses
        assert e.event.robot_id in ("ok", "r1", "_unattributed"), e.event.robot_id

    total = rounds * len(HOSTILE) + 5
    async with asyncio.timeout(10):
        while metrics.MQTT_ACKED._value.get() - acked < total:
            await asyncio.sleep(0.05)
    assert metrics.MQTT_ACKED._value.get() - acked == total
    assert metrics.MQTT_UNACKED._value.get() == 0
    assert metrics.OUTCOMES.labels("dead_lettered")._value.get() - outcomes["dead_lettered"] == rounds * len(
        HOSTILE
    )
    assert metrics.OUTCOMES.labels("stored")._value.get() - outcomes["stored"] == 5
    # Both connections held: no client replaced, no MQTT reconnect, still ready.
    assert metrics.NATS_CLIENTS_REPLACED._value.get() == replaced
    assert not [r for r in caplog.records if "lost" in r.getMessage() or "closed" in r.getMessage()]
    status, body = await small_window_ingest.readiness()
    assert status == 200, body


async def test_a_scan_reply_follows_a_rejected_scan(small_window_ingest, mqtt, mqtt_prefix):
    """Row 5: the broker never sees a reply topic it would disconnect ingest for."""
    await mqtt.subscribe(mqtt_prefix + "tonypi/items/+", qos=1)
    await mqtt.publish(mqtt_prefix + "tonypi/scan/r1", b'{"robot_id": "s\\u0000", "qr": "Q"}', qos=1)
    await mqtt.publish(mqtt_prefix + "tonypi/scan/r1", b'{"robot_id": "x+y", "qr": "Q"}', qos=1)
    await mqtt.publish(mqtt_prefix + "tonypi/scan/good1", b'{"qr": "QR12345"}', qos=1)
    async with asyncio.timeout(10):
        async for message in mqtt.messages:
            assert message.topic.value == mqtt_prefix + "tonypi/items/good1"
            assert json.loads(message.payload)["found"] is True
            break


async def test_a_failure_inside_ingest_is_dead_lettered_as_unprocessable(
    small_window_ingest, mqtt, mqtt_prefix, js, stream_names, monkeypatch
):
    """A bug that raises while handling one message costs that message, acknowledged."""
    import tonypi_ingest.ingestor as ingestor

    real = ingestor.admit

    def broken(topic, raw, *args, **kwargs):
        if b"boom" in raw:
            raise RuntimeError("simulated bug \x00 with NUL")
        return real(topic, raw, *args, **kwargs)

    monkeypatch.setattr(ingestor, "admit", broken)
    acked = metrics.MQTT_ACKED._value.get()
    for n in range(WINDOW * 2):
        await mqtt.publish(mqtt_prefix + "tonypi/status/r1", b'{"status": "boom%d"}' % n, qos=1)
    await mqtt.publish(mqtt_prefix + "tonypi/sensors/ok", good(1), qos=1)
    dead = await wait_stored(js, stream_names.dead_letter, WINDOW * 2)
    assert {d.headers["Tonypi-Reason"] for d in dead} == {"unprocessable"}
    assert "RuntimeError: simulated bug \\x00 with NUL" in dead[0].headers["Tonypi-Detail"]
    events = await wait_stored(js, stream_names.events, WINDOW * 2 + 1)
    assert any(e.event.event_type is EventType.SENSOR for e in events)
    async with asyncio.timeout(10):
        while metrics.MQTT_ACKED._value.get() - acked < WINDOW * 2 + 1:
            await asyncio.sleep(0.05)
