"""Bad input is never fatal and never silent: each class lands in the dead-letter stream
with its raw bytes, topic and reason, an `ingest_rejected` event says so, and the good
messages around it are stored unharmed."""

from __future__ import annotations

from tonypi_events import EventType
from tonypi_events.rejections import MAX_PAYLOAD_BYTES

from .conftest import raw, wait_stored

BAD = [  # (relative topic, raw bytes, reason, robot the rejection is filed under)
    ("tonypi/status/r1", b"{not json", "not_json", "r1"),  # the topic names the robot
    ("tonypi/battery", b"[1, 2, 3]", "not_object", "_unattributed"),
    ("tonypi/battery", raw({"percentage": 50.0, "voltage": 10.0}), "no_robot_id", "_unattributed"),
    ("tonypi/location", raw({"x": 1, "y": 2}), "no_robot_id", "_unattributed"),
    ("tonypi/commands/response", raw({"command_id": "c", "success": True}), "no_robot_id", "_unattributed"),
    ("tonypi/emergency_stop/response", raw({"success": True}), "no_robot_id", "_unattributed"),
    ("tonypi/battery", raw({"robot_id": "r1", "percentage": "lots"}), "invalid_fields", "r1"),
    ("tonypi/status/r1", raw({"status": "online", "pad": "x" * MAX_PAYLOAD_BYTES}), "too_large", "r1"),
]


def good(n: int) -> bytes:
    return raw({"robot_id": "ok", "sensor_type": "accelerometer_x", "value": n})


async def test_each_bad_input_class_is_dead_lettered_with_its_reason_and_neighbours_survive(
    ingest, mqtt, mqtt_prefix, js, stream_names
):
    for n, (topic, payload, _, _) in enumerate(BAD):
        await mqtt.publish(mqtt_prefix + "tonypi/sensors/ok", good(n), qos=1)
        await mqtt.publish(mqtt_prefix + topic, payload, qos=n % 2)
    await mqtt.publish(mqtt_prefix + "tonypi/sensors/ok", good(len(BAD)), qos=1)

    dead = await wait_stored(js, stream_names.dead_letter, len(BAD))
    assert len(dead) == len(BAD)
    for letter, (topic, payload, reason, _) in zip(dead, BAD, strict=True):
        assert letter.subject == stream_names.subjects.dead_letter(reason)
        assert letter.headers["Tonypi-Topic"] == mqtt_prefix + topic
        assert letter.headers["Tonypi-Reason"] == reason
        assert letter.headers["Tonypi-Detail"]
        assert letter.data == payload  # the raw bytes, untouched

    events = await wait_stored(js, stream_names.events, 2 * len(BAD) + 1)
    assert len(events) == 2 * len(BAD) + 1
    values = sorted(e.event.payload["value"] for e in events if e.event.event_type is EventType.SENSOR)
    assert values == list(range(len(BAD) + 1))  # every good neighbour stored
    rejected = [e.event for e in events if e.event.event_type is EventType.INGEST_REJECTED]
    assert [(r.payload["reason"], r.robot_id, r.source) for r in rejected] == [
        (reason, robot, mqtt_prefix + topic) for topic, _, reason, robot in BAD
    ]
    for event, letter in zip(rejected, dead, strict=True):
        assert event.payload["dead_letter_subject"] == letter.subject
        assert event.payload["detail"] == letter.headers["Tonypi-Detail"]
        assert event.payload["size"] == len(letter.data)
    status, _ = await ingest.readiness()
    assert status == 200  # still running


async def test_rejections_are_counted_by_reason(ingest, mqtt, mqtt_prefix, js, stream_names):
    from tonypi_ingest import metrics

    before = metrics.REJECTED.labels("not_object")._value.get()
    await mqtt.publish(mqtt_prefix + "tonypi/logs/r1", b"42", qos=1)
    await mqtt.publish(mqtt_prefix + "tonypi/logs/r1", b"true", qos=1)
    await wait_stored(js, stream_names.dead_letter, 2)
    assert metrics.REJECTED.labels("not_object")._value.get() - before == 2
