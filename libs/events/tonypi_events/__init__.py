"""Event schemas, upcasters, subjects, codecs and streams shared by ingest, projector and query."""

from .codec import decode, encode, headers_for, mqtt_event_id, new_event_id, parse_robot_timestamp
from .envelope import (
    API_SOURCE,
    CLI_SOURCE,
    FLEET,
    SCHEDULES,
    TOKENS_STREAM_ID,
    EventEnvelope,
    EventType,
    utc_now,
)
from .schemas import CURRENT_VERSION, SCHEMAS, UnknownSchemaVersion, decode_payload, model_for
from .stream import StreamNames, StreamStorageExceeded, ensure_streams, missing_streams
from .subjects import Subjects, robot_token
from .topics import ROUTES, TopicRoute, route_for, subscription_filter

__all__ = [
    "API_SOURCE",
    "CLI_SOURCE",
    "CURRENT_VERSION",
    "FLEET",
    "ROUTES",
    "SCHEDULES",
    "SCHEMAS",
    "TOKENS_STREAM_ID",
    "EventEnvelope",
    "EventType",
    "StreamNames",
    "StreamStorageExceeded",
    "Subjects",
    "TopicRoute",
    "UnknownSchemaVersion",
    "decode",
    "decode_payload",
    "encode",
    "ensure_streams",
    "headers_for",
    "missing_streams",
    "model_for",
    "mqtt_event_id",
    "new_event_id",
    "parse_robot_timestamp",
    "robot_token",
    "route_for",
    "subscription_filter",
    "utc_now",
]
