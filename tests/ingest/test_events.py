"""Every robot topic of both generations, published by a real MQTT client through the real
Mosquitto, becomes exactly one event on JetStream."""

from __future__ import annotations

import pytest
from nats.js.errors import NotFoundError
from tonypi_events import ensure_streams, mqtt_event_id
from tonypi_events.codec import MSG_ID_HEADER
from tonypi_runtime.nats_client import not_declared

from .conftest import raw, wait_stored
from .samples import SAMPLES, TS


async def test_every_topic_of_both_generations_arrives_as_exactly_one_event(
    ingest, mqtt, mqtt_prefix, js, stream_names
):
    for qos, sample in enumerate(SAMPLES):
        await mqtt.publish(mqtt_prefix + sample.topic, raw(sample.payload), qos=qos % 2)
    messages = await wait_stored(js, stream_names.events, len(SAMPLES))
    assert len(messages) == len(SAMPLES)
    by_source_and_robot = {}
    for message in messages:
        event = message.event
        assert message.headers[MSG_ID_HEADER] == event.event_id
        assert message.subject == stream_names.subjects.event(event.robot_id, event.event_type)
        by_source_and_robot[(event.source, event.robot_id, event.event_type)] = event
    for sample in SAMPLES:
        topic = mqtt_prefix + sample.topic
        event = by_source_and_robot[(topic, sample.robot_id, sample.event_type)]
        assert event.schema_version == sample.version, sample.name
        assert event.payload == sample.payload, sample.name
        assert event.event_id == mqtt_event_id(topic, raw(sample.payload))
        assert event.occurred_at.isoformat() == TS + "+00:00"  # no offset sent: UTC
        assert event.received_at.tzinfo is not None


async def test_the_same_message_twice_is_one_event(ingest, mqtt, mqtt_prefix, js, stream_names):
    twice = raw({"robot_id": "r1", "sensor_type": "gyroscope_x", "value": 0.5, "timestamp": TS})
    await mqtt.publish(mqtt_prefix + "tonypi/sensors/r1", twice, qos=1)
    await mqtt.publish(mqtt_prefix + "tonypi/sensors/r1", twice, qos=1)
    # A different message after both: once it is stored, the second copy was handled.
    await mqtt.publish(
        mqtt_prefix + "tonypi/sensors/r1",
        raw({"robot_id": "r1", "sensor_type": "gyroscope_y", "value": 0.5, "timestamp": TS}),
        qos=1,
    )
    messages = await wait_stored(js, stream_names.events, 2)
    assert sorted(m.event.payload["sensor_type"] for m in messages) == ["gyroscope_x", "gyroscope_y"]


async def test_metrics_count_received_and_published_by_kind(ingest, mqtt, mqtt_prefix, js, stream_names):
    from tonypi_ingest import metrics

    before = metrics.EVENTS_PUBLISHED.labels("log")._value.get()
    for n in range(3):
        await mqtt.publish(mqtt_prefix + "tonypi/logs/r2", raw({"level": "INFO", "message": f"m{n}"}), qos=1)
    await wait_stored(js, stream_names.events, 3)
    assert metrics.EVENTS_PUBLISHED.labels("log")._value.get() - before == 3
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(ingest.url + "/metrics") as resp:
        body = await resp.text()
    assert 'tonypi_ingest_events_published_total{kind="log"}' in body
    assert "tonypi_ingest_buffer_depth 0.0" in body


async def test_ready_means_subscribed_jetstream_reachable_and_presence_caught_up(ingest):
    status, body = await ingest.readiness()
    assert status == 200
    assert body["checks"] == {"mqtt": "subscribed", "jetstream": "reachable", "presence": "caught up"}


async def test_a_stream_deleted_under_a_running_ingest_holds_publishing_until_it_is_declared(
    ingest, mqtt, mqtt_prefix, js, stream_names
):
    """Ingest may not create a stream (auth.conf): it holds what robots send, /readyz names
    the missing stream, and once an admin declares it again the held message is stored."""
    await mqtt.publish(mqtt_prefix + "tonypi/logs/r3", raw({"message": "before"}), qos=1)
    await wait_stored(js, stream_names.events, 1)
    await js.delete_stream(stream_names.events)
    await mqtt.publish(mqtt_prefix + "tonypi/logs/r3", raw({"message": "after"}), qos=1)
    await ingest.wait_status(503, jetstream=not_declared([stream_names.events]))
    with pytest.raises(NotFoundError):  # ingest did not declare it
        await js.stream_info(stream_names.events)
    await ensure_streams(js, stream_names)  # the admin step
    messages = await wait_stored(js, stream_names.events, 1)
    assert [m.event.payload["message"] for m in messages] == ["after"]
    await ingest.wait_status(200)
