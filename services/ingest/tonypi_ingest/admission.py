"""Deciding what one MQTT message is: an event to publish, or a rejection with its reason.

Pure functions of (topic, bytes, receive time): no I/O, so every rule is unit-testable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from tonypi_events import (
    EventEnvelope,
    EventType,
    TopicRoute,
    model_for,
    mqtt_event_id,
    parse_robot_timestamp,
    route_for,
)
from tonypi_events.bounds import PayloadProblem, parse_payload, safe_text
from tonypi_events.identity import robot_id_problem
from tonypi_events.rejections import MAX_PAYLOAD_BYTES, UNATTRIBUTED_ROBOT_ID, RejectReason

# What an `ingest_rejected` event quotes of the topic and the error (safe_text).
TOPIC_QUOTE_CHARS = 1024
DETAIL_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Accepted:
    event: EventEnvelope
    scanned_qr: str | None = None  # a scan: the code to look up and answer


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    detail: str
    event_type: EventType | None = None  # the topic's kind, when the topic is known
    robot_id: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Strict identity (docs/security.md): the broker's ACL lets a robot publish only on
    topics that carry its own id, so the topic's id is the one the broker vouched for. In
    strict mode a payload robot_id that disagrees with it is refused (`robot_id_mismatch`).
    Topics without an id (gen-1 tonypi/battery and tonypi/location, the shared response
    topics) vouch for no one: `accept_idless` keeps them (the payload's id is trusted, as
    before) or refuses them (`robot_id_unverified`). `accept_idless_answers` keeps the
    command and emergency-stop answers even so: an answer settles only a command that was
    sent to the robot it names (the projector's rule), and the command's id reached that
    robot alone, on its own ACL-guarded command topic, so the id is the credential."""

    strict: bool = False
    accept_idless: bool = True
    accept_idless_answers: bool = True


LENIENT = IdentityPolicy()
# Answers name the command they settle; see IdentityPolicy.accept_idless_answers.
IDLESS_ANSWERS = frozenset({EventType.COMMAND_RESPONSE, EventType.EMERGENCY_STOP_RESPONSE})


@lru_cache(maxsize=65_536)  # one entry per (robot, kind) topic: bounded by the fleet
def _route(relative_topic: str) -> TopicRoute | None:
    return route_for(relative_topic)


def _topic_robot(route: TopicRoute, relative_topic: str) -> str | None:
    """The robot a per-robot topic (`tonypi/status/+`) names in its last level."""
    return (relative_topic.rsplit("/", 1)[1] or None) if route.robot_id_in_topic else None


def _valid_or_none(robot_id: str | None) -> str | None:
    """A rejection is filed under a robot only if the id is one (else `_unattributed`)."""
    return robot_id if robot_id is not None and robot_id_problem(robot_id) is None else None


def _robot_id(payload: dict[str, Any], topic_robot: str | None) -> str | None:
    claimed = payload.get("robot_id")
    if isinstance(claimed, str) and claimed:
        return claimed  # the payload's id wins over the topic's
    return topic_robot


def _identity_problem(payload: dict[str, Any], topic_robot: str | None) -> str | None:
    """Every robot id the message claims (the topic's and the payload's) must keep the rule."""
    if topic_robot is not None:
        problem = robot_id_problem(topic_robot)
        if problem:
            return f"topic: {problem}"
    claimed = payload.get("robot_id")
    if isinstance(claimed, str) and claimed:
        problem = robot_id_problem(claimed)
        if problem:
            return f"payload.robot_id: {problem}"
    return None


def _describe(error: ValidationError, limit: int = 3) -> str:
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _impersonation(
    payload: dict[str, Any], topic_robot: str | None, route: TopicRoute, identity: IdentityPolicy
) -> tuple[RejectReason, str] | None:
    if not identity.strict:
        return None
    if topic_robot is None:
        if identity.accept_idless:
            return None
        if identity.accept_idless_answers and route.event_type in IDLESS_ANSWERS:
            return None
        return (
            RejectReason.ROBOT_ID_UNVERIFIED,
            f"{route.pattern} carries no robot id in the topic, and INGEST_IDLESS_TOPICS "
            f"accepts {'only answers' if identity.accept_idless_answers else 'none'}",
        )
    claimed = payload.get("robot_id")
    if isinstance(claimed, str) and claimed and claimed != topic_robot:
        return (
            RejectReason.ROBOT_ID_MISMATCH,
            f"payload.robot_id {claimed[:128]!r} is not the topic's robot {topic_robot!r}",
        )
    return None


def admit(
    topic: str,
    raw: bytes,
    received_at: datetime,
    topic_prefix: str = "",
    identity: IdentityPolicy = LENIENT,
) -> Accepted | Rejected:
    """The event this message becomes, or why it cannot become one."""
    relative = topic[len(topic_prefix) :]
    route = _route(relative) if topic.startswith(topic_prefix) else None
    if route is None:
        return Rejected(RejectReason.UNKNOWN_TOPIC, f"no robot topic matches {topic[:TOPIC_QUOTE_CHARS]!r}")
    kind = route.event_type
    # Unreadable messages on per-robot topics are still filed under the topic's robot.
    topic_robot = _topic_robot(route, relative)
    if len(raw) > MAX_PAYLOAD_BYTES:
        return Rejected(
            RejectReason.TOO_LARGE,
            f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD_BYTES}",
            kind,
            _valid_or_none(topic_robot),
        )
    try:
        payload = parse_payload(raw)
    except PayloadProblem as problem:
        if problem.field == "payload.robot_id" and problem.code == "invalid_text":  # NUL, lone surrogate
            return Rejected(
                RejectReason.INVALID_ROBOT_ID, f"payload.robot_id: {robot_id_problem(problem.value)}", kind
            )
        return Rejected(RejectReason(problem.code), str(problem), kind, _valid_or_none(topic_robot))
    if not isinstance(payload, dict):
        return Rejected(
            RejectReason.NOT_OBJECT,
            f"JSON {type(payload).__name__}, not an object",
            kind,
            _valid_or_none(topic_robot),
        )
    problem = _identity_problem(payload, topic_robot)
    if problem is not None:
        return Rejected(RejectReason.INVALID_ROBOT_ID, problem, kind)
    impersonation = _impersonation(payload, topic_robot, route, identity)
    if impersonation is not None:  # filed under the robot the broker vouched for
        return Rejected(*impersonation, kind, topic_robot)
    robot_id = _robot_id(payload, topic_robot)
    occurred_at = parse_robot_timestamp(payload.get("timestamp"))
    version = route.detect_version(payload)
    try:
        model = model_for(kind, version).model_validate(payload)
    except ValidationError as exc:
        return Rejected(RejectReason.INVALID_FIELDS, _describe(exc), kind, robot_id, occurred_at)
    if robot_id is None:
        return Rejected(
            RejectReason.NO_ROBOT_ID,
            f"{route.pattern} carries the robot id only in the payload, and it has none",
            kind,
        )
    # Built without a second validation pass (about a tenth of ingest's CPU per message):
    # each field already is what the envelope's validators make of it. occurred_at is UTC or
    # None (parse_robot_timestamp), received_at goes through the envelope's own rule, the
    # payload is the decoded object. tests/ingest/test_admission.py holds it to a validated one.
    event = EventEnvelope.model_construct(
        event_id=mqtt_event_id(topic, raw),
        event_type=kind,
        schema_version=version,
        robot_id=robot_id,
        occurred_at=occurred_at,
        received_at=EventEnvelope._received_at_is_utc(received_at),
        source=topic,
        payload=payload,  # as received, unknown fields included
    )
    if kind is EventType.SCAN:
        return Accepted(event, scanned_qr=model.qr_data if version == 2 else model.qr)
    return Accepted(event)


def rejection_event(
    rejection: Rejected, topic: str, raw: bytes, received_at: datetime, dead_letter_subject: str
) -> EventEnvelope:
    """The `ingest_rejected` event telling readers (the projector's log) what was refused.
    It quotes the topic and detail through `safe_text`: storable and loggable whatever came in."""
    robot_id = _valid_or_none(rejection.robot_id) or UNATTRIBUTED_ROBOT_ID
    quoted_topic = safe_text(topic, TOPIC_QUOTE_CHARS)
    return EventEnvelope(
        event_id=mqtt_event_id(topic, raw),
        event_type=EventType.INGEST_REJECTED,
        schema_version=1,
        robot_id=robot_id,
        occurred_at=rejection.occurred_at,
        received_at=received_at,
        source=quoted_topic,
        payload={
            "robot_id": robot_id,
            "reason": rejection.reason.value,
            "detail": safe_text(rejection.detail, DETAIL_CHARS),
            "topic": quoted_topic,
            "size": len(raw),
            "dead_letter_subject": dead_letter_subject,
        },
    )
