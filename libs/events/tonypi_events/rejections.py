"""Why ingest refuses a robot message: machine-readable codes shared by ingest (which
writes them as the dead-letter subject's last token and in `ingest_rejected` events)
and by readers of those events (the projector's WARNING log line, operators' tools)."""

from __future__ import annotations

from enum import StrEnum

from .bounds import MAX_PAYLOAD_BYTES

# Robot id used on `ingest_rejected` events when the message names no valid robot id.
UNATTRIBUTED_ROBOT_ID = "_unattributed"

__all__ = ["MAX_PAYLOAD_BYTES", "UNATTRIBUTED_ROBOT_ID", "RejectReason"]


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"  # payload over MAX_PAYLOAD_BYTES
    NOT_JSON = "not_json"  # not UTF-8 JSON
    NOT_OBJECT = "not_object"  # JSON, but not an object
    NO_ROBOT_ID = "no_robot_id"  # neither the payload nor the topic names the robot
    INVALID_FIELDS = "invalid_fields"  # a known field has the wrong type or a required one is missing
    UNKNOWN_TOPIC = "unknown_topic"  # a topic no route describes (a wildcard subscription matched it)
    # The bounds of tonypi_events.bounds and tonypi_events.identity (docs/architecture.md):
    INVALID_ROBOT_ID = "invalid_robot_id"  # the robot id breaks the robot-id rule; the detail says how
    TOO_DEEP = "too_deep"  # JSON nested deeper than MAX_JSON_DEPTH
    INVALID_NUMBER = "invalid_number"  # NaN, Infinity, a number beyond a double, an over-long integer
    INVALID_TEXT = "invalid_text"  # a NUL or a lone surrogate in a key or string; the detail names the field
    # Strict identity (INGEST_STRICT_IDENTITY, docs/security.md): the payload's robot_id is not
    # the id in the topic (the one the broker's ACL let this client publish on).
    ROBOT_ID_MISMATCH = "robot_id_mismatch"
    # Strict identity with INGEST_IDLESS_TOPICS=reject: a topic without an id (gen-1
    # tonypi/battery, tonypi/location, the shared response topics) proves no identity.
    ROBOT_ID_UNVERIFIED = "robot_id_unverified"
    # Ingest itself failed on the message (a bug): refused with the error, never left unacknowledged.
    UNPROCESSABLE = "unprocessable"
