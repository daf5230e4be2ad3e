"""The subject is the authority (docs/security.md): an event counts only when the subject it
arrived on agrees with what its envelope claims.

NATS permissions (auth.conf) decide who may publish on which subject, never what the bytes
say. So a consumer of the stream reads the kind and the robot from the subject and refuses an
envelope that claims otherwise: a `token_created` published by a service on a subject it may
write (`tonypi.events.robotZ.robot_registered`) is a forgery, not a token. The reserved robot
ids are checked the same way: each carries only its own kinds, and those kinds live only there.

Pure: no I/O. Every consumer (the projector and `tonypi replay`, ingest's command deliverer
and its presence follower) calls `subject_problem` before acting on an event.
"""

from __future__ import annotations

from .clock import CLOCK_ROBOT_ID
from .envelope import FLEET, SCHEDULES, TOKENS_STREAM_ID, EventEnvelope, EventType
from .rejections import UNATTRIBUTED_ROBOT_ID
from .subjects import Subjects, robot_token

SCHEDULE_KINDS = frozenset(
    {
        EventType.JOB_SCHEDULED,
        EventType.SCHEDULE_PAUSED,
        EventType.SCHEDULE_RESUMED,
        EventType.SCHEDULE_CANCELLED,
    }
)
SUBJECT_MISMATCH = "subject_mismatch"  # the dead-letter reason, the metrics' label

# Each reserved robot id: the only kinds it may carry.
RESERVED_IDS: dict[str, frozenset[EventType]] = {
    TOKENS_STREAM_ID: frozenset({EventType.TOKEN_CREATED, EventType.TOKEN_REVOKED}),
    CLOCK_ROBOT_ID: frozenset({EventType.CLOCK_TICK}),
    UNATTRIBUTED_ROBOT_ID: frozenset({EventType.INGEST_REJECTED}),
    # A broadcast: asked for by the API (query), claimed and sent by ingest's deliverer.
    FLEET: frozenset({EventType.COMMAND_REQUESTED, EventType.EMERGENCY_STOP, EventType.COMMAND_SENT}),
    SCHEDULES: SCHEDULE_KINDS,
}
# Kinds that live only under their reserved id (a robot's own subject never carries them).
ONLY_UNDER: dict[EventType, str] = {
    EventType.TOKEN_CREATED: TOKENS_STREAM_ID,
    EventType.TOKEN_REVOKED: TOKENS_STREAM_ID,
    EventType.CLOCK_TICK: CLOCK_ROBOT_ID,
    **dict.fromkeys(SCHEDULE_KINDS, SCHEDULES),
}


def subject_problem(subject: str, event: EventEnvelope, subjects: Subjects) -> str | None:
    """None when `event` may be believed on `subject`; else a readable reason, starting with
    `subject_mismatch:`. `subjects` is the deployment's (its SUBJECT_PREFIX)."""
    base = f"{subjects.prefix}.events."
    tokens = subject[len(base) :].split(".") if subject.startswith(base) else []
    if len(tokens) != 2:
        return f"{SUBJECT_MISMATCH}: {subject!r} is not an event subject ({base}<robot>.<kind>)"
    robot, kind = tokens
    if kind != event.event_type.value:
        claims = event.event_type.value
        return f"{SUBJECT_MISMATCH}: subject {subject!r} carries {kind}, the envelope claims {claims}"
    try:
        claimed = robot_token(event.robot_id)
    except UnicodeEncodeError:  # a lone surrogate: no subject can name this robot
        return f"{SUBJECT_MISMATCH}: the envelope's robot id cannot be spelled in a subject"
    if robot != claimed:
        return f"{SUBJECT_MISMATCH}: subject {subject!r} is robot {robot!r}, the envelope claims {claimed!r}"
    allowed = RESERVED_IDS.get(event.robot_id)
    if allowed is not None and event.event_type not in allowed:
        return f"{SUBJECT_MISMATCH}: reserved id {event.robot_id} never carries {event.event_type.value}"
    home = ONLY_UNDER.get(event.event_type)
    if home is not None and event.robot_id != home:
        return f"{SUBJECT_MISMATCH}: {event.event_type.value} lives only under {home}, not {event.robot_id!r}"
    return None
