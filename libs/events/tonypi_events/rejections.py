"""Why ingest refuses a robot message: machine-readable codes shared by ingest (which
writes them as the dead-letter subject's last token and in `ingest_rejected` events)
and by readers of those events (the projector's WARNING log line, operators' tools)."""

from __future__ import annotations

from enum import StrEnum

# Robot id used on `ingest_rejected` events when the message names no robot.
UNATTRIBUTED_ROBOT_ID = "_unattributed"

# Largest robot payload ingest accepts; robots send well under 2 KiB.
MAX_PAYLOAD_BYTES = 64 * 1024


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"  # payload over MAX_PAYLOAD_BYTES
    NOT_JSON = "not_json"  # not UTF-8 JSON
    NOT_OBJECT = "not_object"  # JSON, but not an object
    NO_ROBOT_ID = "no_robot_id"  # neither the payload nor the topic names the robot
    INVALID_FIELDS = "invalid_fields"  # a known field has the wrong type or a required one is missing
    UNKNOWN_TOPIC = "unknown_topic"  # a topic no route describes (a wildcard subscription matched it)
