"""What presence needs of a stored status event, read cheaply (issue 23).

Ingest writes it into a header of every status event it stores (`Tonypi-Presence:
<received_at> <0|1 stopped> <firmware> <status>`), so presence following the stream reads a
header and never decodes the event a second time. Only ingest may publish on status
subjects (auth.conf), and the robot is read from the subject, the authority. Events stored
before the header existed are read with one `json.loads` of the envelope: no pydantic, no
payload model; one whose envelope disagrees with its subject is refused (SubjectMismatch).
Pure functions, no I/O.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote

from tonypi_events import EventEnvelope, EventType
from tonypi_events.authority import SUBJECT_MISMATCH
from tonypi_events.bounds import safe_text
from tonypi_events.codec import MSG_ID_HEADER
from tonypi_events.commanding import FIRMWARES, firmware_of_status

PRESENCE_HEADER = "Tonypi-Presence"
STATUS_CHARS = 200  # a status label is short; a header stays one bounded ASCII line


@dataclass(frozen=True, slots=True)
class StatusView:
    robot_id: str
    event_id: str
    status: str
    stopped: bool
    received_at: datetime
    firmware: str  # tonypi_events.commanding: what the status reveals


class SubjectMismatch(ValueError):
    """A stored status whose envelope names another robot or kind than its subject."""


def presence_header(event: EventEnvelope) -> str:
    """The header value for a status event (its payload already admitted)."""
    payload = event.payload
    status = payload.get("status")
    stopped = status == "emergency_stopped" or payload.get("emergency_stopped") is True
    text = safe_text(str(status), STATUS_CHARS).encode("ascii", "backslashreplace").decode("ascii")
    return f"{event.received_at.isoformat()} {int(stopped)} {firmware_of_status(payload)} {text}"


def _robot_from_subject(subject: str) -> str:
    """`<prefix>.events.<robot token>.status` -> the robot id (tokens escape with %XX)."""
    token = subject.rsplit(".", 2)[-2]
    return unquote(token) if "%" in token else token


def read_status(subject: str, headers: dict[str, str] | None, data: bytes) -> StatusView:
    """The status a stored event reports; ValueError (with the reason) when it is unreadable."""
    value = headers.get(PRESENCE_HEADER) if headers else None
    if value is not None:
        try:
            at, stopped, firmware, status = value.split(" ", 3)
            if firmware not in FIRMWARES:
                raise ValueError(f"unknown firmware {firmware[:20]!r}")
            return StatusView(
                _robot_from_subject(subject),
                headers.get(MSG_ID_HEADER, ""),
                sys.intern(status),
                stopped == "1",
                datetime.fromisoformat(at),
                sys.intern(firmware),
            )
        except (ValueError, IndexError) as exc:
            raise ValueError(f"malformed {PRESENCE_HEADER} header: {exc}") from None
    try:
        envelope = json.loads(data)
        robot = _robot_from_subject(subject)  # the subject first: whatever the payload, a forgery is one
        if envelope["robot_id"] != robot or envelope.get("event_type") != EventType.STATUS.value:
            raise SubjectMismatch(
                f"{SUBJECT_MISMATCH}: subject {subject!r} carries robot {robot!r}'s status, the "
                f"envelope claims {envelope.get('event_type')!r} of {envelope['robot_id']!r}"
            )
        payload = envelope["payload"]
        status = payload["status"]
        if not isinstance(status, str):
            raise ValueError("status is not a string")
        return StatusView(
            robot,
            envelope["event_id"],
            sys.intern(status),
            status == "emergency_stopped" or payload.get("emergency_stopped") is True,
            datetime.fromisoformat(envelope["received_at"]),
            firmware_of_status(payload),
        )
    except SubjectMismatch:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a status event ({type(exc).__name__}: {exc})") from None
