"""Bytes on the wire: envelopes as JSON, and the ids that make publishing idempotent."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from .envelope import EventEnvelope

MSG_ID_HEADER = "Nats-Msg-Id"
# Optimistic concurrency: JetStream refuses the publish unless the subject's last
# sequence is this value ("0": nothing was ever published on it).
EXPECTED_LAST_SUBJECT_SEQ_HEADER = "Nats-Expected-Last-Subject-Sequence"


def mqtt_event_id(topic: str, payload: bytes) -> str:
    """Same message, same id: a QoS 1 redelivery or a second ingest replica publishes
    the same Nats-Msg-Id and JetStream keeps one event."""
    digest = hashlib.blake2b(topic.encode() + b"\0" + payload, digest_size=16)
    return digest.hexdigest()


def new_event_id() -> str:
    return uuid.uuid4().hex


def encode(event: EventEnvelope) -> bytes:
    return event.model_dump_json().encode()


def decode(data: bytes) -> EventEnvelope:
    return EventEnvelope.model_validate_json(data)


def headers_for(event: EventEnvelope) -> dict[str, str]:
    return {MSG_ID_HEADER: event.event_id}


def robot_time_utc(value: datetime) -> datetime | None:
    """THE rule for a time a robot sends (docs/architecture.md, "Robot times"): one without an
    offset is UTC (the robots' clients write `datetime.utcnow()`), one with an offset is
    converted to UTC. None when it leaves the representable range once converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


def parse_robot_timestamp(value: object) -> datetime | None:
    """The robot's `timestamp` claim, ISO 8601, as an aware UTC time (`robot_time_utc`).
    Unparseable means unknown."""
    if not isinstance(value, str):
        return None
    try:
        return robot_time_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
