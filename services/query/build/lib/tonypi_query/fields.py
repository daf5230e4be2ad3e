"""The field types the API's models share: times in UTC, the robot-id rule, bounded text,
cursors, the seed's empty filters, and the query-string fields. One home, so every
endpoint's model (models.py, alarm_models.py, command_models.py) spells them alike."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from tonypi_events import FLEET
from tonypi_events.identity import ROBOT_ID_MAX_CHARS, robot_id_problem
from tonypi_events.identity import RobotId as IdentityRobotId
from tonypi_events.reserved import RESERVED_ROBOT_IDS, SYSTEM_PREFIX

# The largest page any list endpoint returns; a bigger `limit` is a 422, not a silent clamp,
# so a client never believes it got everything when it did not.
MAX_PAGE_SIZE = 1000
INT64_MAX = 2**63 - 1


def _isoformat(value: datetime) -> str:
    # Always "+00:00" (never pydantic's "Z"): what the seed's clients parsed. asyncpg hands
    # timestamptz over in UTC already; the conversion is for anything else.
    return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(_isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _query_datetime(value: Any) -> Any:
    """ISO 8601 only: pydantic would read a bare number as Unix time, which no documented
    client sends. A '+' in a query string arrives as a space: '10:00:00 02:00' meant '+02:00'."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            pass
        else:
            raise ValueError("expected an ISO 8601 date-time such as 2026-11-26T10:00:00+00:00, not a number")
        if len(value) > 6 and value[-6] == " " and value[-3] == ":" and ":" in value[:-6]:
            value = value[:-6] + "+" + value[-5:]
    return value


def _assume_utc(value: datetime) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    try:
        value.astimezone(UTC)  # what the database receives: 9999-12-31T23:00-05:00 is year 10000
    except OverflowError:
        raise ValueError("the date-time is out of range once converted to UTC") from None
    return value


TimeFilter = Annotated[datetime, BeforeValidator(_query_datetime), AfterValidator(_assume_utc)]


def _format_ranges() -> str:
    """Unicode format characters (Cf) of the BMP as regex class ranges, for the documented
    pattern (`\\uXXXX` is what every regex dialect reads; the rule refuses the rest too)."""
    out, start, prev = [], None, None
    for point in range(0x10000):
        if unicodedata.category(chr(point)) == "Cf":
            if start is None:
                start = point
            elif point != prev + 1:
                out.append((start, prev))
                start = point
            prev = point
    out.append((start, prev))

    def esc(p: int) -> str:
        return f"\\u{p:04x}"

    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in out)


# The one robot-id rule (tonypi_events.identity, the same ingest applies to MQTT): every id
# ingest admits is addressable here, and POST refuses what ingest would refuse. The JSON
# schema below describes the rule for OpenAPI clients; the validator is the rule itself.
_RESERVED_WORDS = sorted(w for w in RESERVED_ROBOT_IDS if not w.startswith(SYSTEM_PREFIX))
RobotId = Annotated[
    IdentityRobotId,
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": ROBOT_ID_MAX_CHARS,
            "pattern": rf"^(?!\.{{1,2}}$)(?!{re.escape(SYSTEM_PREFIX)})(?!(?:{'|'.join(_RESERVED_WORDS)})$)"
            r"[^\x00-\x1f\x7f-\x9f/+#\u2028\u2029" + _format_ranges() + "]+$",
            "description": "1 to 128 characters; no control or format characters, line separators, "
            f"'/', '+' or '#'; not '.' or '..'; in Unicode NFC; not reserved: no leading "
            f"'{SYSTEM_PREFIX}', not "
            f"{', '.join(repr(w) for w in _RESERVED_WORDS)} (docs/architecture.md, Robot ids; "
            "docs/security.md, Reserved robot ids)",
        }
    ),
]


def _robot_or_fleet(value: str) -> str:
    if value == FLEET:
        return value
    problem = robot_id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Where a read names "the whole fleet" by its reserved id (a robot's commands: `_fleet`, the
# broadcasts). Writes never take it: the fleet has its own endpoints.
RobotIdOrFleet = Annotated[
    str,
    AfterValidator(_robot_or_fleet),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": ROBOT_ID_MAX_CHARS,
            "description": f"a robot id (as above), or `{FLEET}` for the whole fleet",
        }
    ),
]
ShortText = Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\x00]*$")]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$")]
RobotStatus = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[^\x00]*$")]
FilterText = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00]*$")]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
# A robot page's cursor: a robot id (up to 512 bytes of UTF-8) in base64url.
RobotCursor = Annotated[str, StringConstraints(min_length=1, max_length=700, pattern=r"^[A-Za-z0-9_-]+$")]


def _empty_means_absent(value: str) -> str | None:
    # The seed tested these filters with `if level:`, so `?level=` (a form's empty field)
    # meant "no filter"; its clients still send that.
    return value or None


SeedFilterText = Annotated[
    str, StringConstraints(max_length=128, pattern=r"^[^\x00]*$"), AfterValidator(_empty_means_absent)
]
SeedRobotFilter = Annotated[
    str,
    StringConstraints(max_length=128, pattern=r"^[^\x00-\x1f\x7f/]*$"),
    AfterValidator(_empty_means_absent),
]

# Query strings: unknown parameters are ignored, as the seed's FastAPI did.
QUERY_CONFIG = ConfigDict(extra="ignore")
SINCE_FIELD = Field(None, description="only entries at or after this time (ISO 8601; no offset means UTC)")
UNTIL_FIELD = Field(None, description="only entries before this time (ISO 8601; no offset means UTC)")
BEFORE_FIELD = Field(None, description="the `before` value from the previous page's Link header")
