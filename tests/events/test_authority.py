"""The subject is the authority (tonypi_events.authority): pure, so tested without brokers."""

from __future__ import annotations

import pytest
from tonypi_events import FLEET, TOKENS_STREAM_ID, EventEnvelope, EventType, Subjects, new_event_id, utc_now
from tonypi_events.authority import RESERVED_IDS, subject_problem
from tonypi_events.clock import CLOCK_ROBOT_ID
from tonypi_events.rejections import UNATTRIBUTED_ROBOT_ID

SUBJECTS = Subjects("tonypi")


def envelope(kind: EventType, robot_id: str) -> EventEnvelope:
    return EventEnvelope(
        event_id=new_event_id(),
        event_type=kind,
        schema_version=1,
        robot_id=robot_id,
        received_at=utc_now(),
        source="test",
        payload={},
    )


def check(subject: str, kind: EventType, robot_id: str) -> str | None:
    return subject_problem(subject, envelope(kind, robot_id), SUBJECTS)


@pytest.mark.parametrize(
    ("kind", "robot_id"),
    [
        (EventType.STATUS, "r1"),
        (EventType.SENSOR, "lab.robot 7"),  # escaped in the subject, equal once escaped
        (EventType.TOKEN_CREATED, TOKENS_STREAM_ID),
        (EventType.TOKEN_REVOKED, TOKENS_STREAM_ID),
        (EventType.CLOCK_TICK, CLOCK_ROBOT_ID),
        (EventType.INGEST_REJECTED, UNATTRIBUTED_ROBOT_ID),
        (EventType.INGEST_REJECTED, "r1"),
        (EventType.COMMAND_REQUESTED, FLEET),
        (EventType.EMERGENCY_STOP, FLEET),
        (EventType.COMMAND_SENT, FLEET),
        (EventType.COMMAND_SENT, "r1"),
    ],
)
def test_an_event_on_its_own_subject_is_believed(kind, robot_id):
    assert subject_problem(SUBJECTS.event(robot_id, kind), envelope(kind, robot_id), SUBJECTS) is None


def test_a_token_on_a_registration_subject_is_a_forgery():
    """Issue 16 row 2: query may publish robot_registered; that does not make it a token."""
    reason = check("tonypi.events.robotZ.robot_registered", EventType.TOKEN_CREATED, TOKENS_STREAM_ID)
    assert reason == (
        "subject_mismatch: subject 'tonypi.events.robotZ.robot_registered' carries robot_registered, "
        "the envelope claims token_created"
    )


@pytest.mark.parametrize(
    "subject",
    [
        "tonypi.events.r1.status",  # ingest's
        "tonypi.events._clock.clock_tick",  # the projector's
        "tonypi.events._tokens.status",  # right robot, wrong kind
        "tonypi.events._tokens.token_created.x",  # one token too many
        "tonypi.events._tokens",
        "other.events._tokens.token_created",  # another deployment's prefix
        "tonypi.deadletter._tokens.token_created",
    ],
)
def test_a_token_anywhere_but_its_own_subject_is_refused(subject):
    reason = check(subject, EventType.TOKEN_CREATED, TOKENS_STREAM_ID)
    assert reason is not None and reason.startswith("subject_mismatch: ")


def test_the_robot_in_the_subject_must_be_the_envelopes():
    reason = check("tonypi.events.r2.status", EventType.STATUS, "r1")
    assert (
        reason
        == "subject_mismatch: subject 'tonypi.events.r2.status' is robot 'r2', the envelope claims 'r1'"
    )
    # The subject holds the escaped spelling: the raw id with a dot is not it.
    assert check("tonypi.events.lab.r1.status", EventType.STATUS, "lab.r1") is not None
    assert check("tonypi.events.lab%2Er1.status", EventType.STATUS, "lab.r1") is None


def test_a_robot_id_no_subject_can_spell_is_refused_not_raised():
    assert "cannot be spelled" in check("tonypi.events.x.status", EventType.STATUS, "a\ud800")


@pytest.mark.parametrize(
    ("kind", "robot_id", "words"),
    [
        (EventType.ROBOT_REGISTERED, TOKENS_STREAM_ID, "reserved id _tokens never carries robot_registered"),
        (EventType.STATUS, CLOCK_ROBOT_ID, "reserved id _clock never carries status"),
        (EventType.STATUS, UNATTRIBUTED_ROBOT_ID, "reserved id _unattributed never carries status"),
        (EventType.ROBOT_REGISTERED, FLEET, "reserved id _fleet never carries robot_registered"),
        (EventType.COMMAND_RESPONSE, FLEET, "reserved id _fleet never carries command_response"),
        (EventType.TOKEN_CREATED, "r1", "token_created lives only under _tokens, not 'r1'"),
        (EventType.TOKEN_REVOKED, "admin", "token_revoked lives only under _tokens"),
        (EventType.CLOCK_TICK, "r1", "clock_tick lives only under _clock, not 'r1'"),
    ],
)
def test_reserved_ids_carry_only_their_kinds_and_those_kinds_live_only_there(kind, robot_id, words):
    """Even on a subject that agrees with the envelope: auth.conf grants by kind (`*.<kind>`),
    so the robot token alone must not open another writer's reserved id."""
    reason = check(SUBJECTS.event(robot_id, kind), kind, robot_id)
    assert reason is not None and words in reason, reason


def test_every_reserved_id_is_a_real_robot_token():
    """A reserved id needs no escaping: the subject spells it as the envelope does."""
    assert all(SUBJECTS.event(r, EventType.STATUS) == f"tonypi.events.{r}.status" for r in RESERVED_IDS)


def test_a_test_prefix_is_honoured():
    subjects = Subjects("t0123")
    event = envelope(EventType.STATUS, "r1")
    assert subject_problem("t0123.events.r1.status", event, subjects) is None
    assert subject_problem("tonypi.events.r1.status", event, subjects) is not None
