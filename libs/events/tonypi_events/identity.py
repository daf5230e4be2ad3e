"""The one robot-id rule. Ingest refuses a message whose robot id breaks it
(`invalid_robot_id`, with the reason this module gives); the query API refuses such a path
or body id with a 422. So every robot in the tables can be stored, indexed, put in a NATS
subject, an MQTT reply topic and a URL path, and addressed by GET, PUT and DELETE.

A robot id is 1 to 128 characters (Unicode code points) and
- holds no control character (Unicode Cc: NUL, C0, DEL, C1), no format character (Cf:
  zero-width space, bidi overrides, BOM), no line or paragraph separator (Zl, Zp), and no
  lone surrogate (Cs: not encodable as UTF-8);
- is in Unicode normal form NFC (so two ids that render alike are one id);
- holds none of `/` (a URL path and MQTT topic level separator), `+` and `#` (MQTT
  wildcards, so the `tonypi/items/{id}` reply topic is always publishable);
- is not `.` or `..` (URL clients resolve those as path segments);
- is not reserved (tonypi_events.reserved: `_clock`, `_fleet`, `_tokens`, `_unattributed`,
  any other id starting with `_`, `response`, `broadcast`, `ingest`).
Anything else (spaces inside, `.`, `*`, `>`, `%`, any script) is allowed: NATS subjects
carry the id `%XX`-escaped (`tonypi_events.subjects.robot_token`).

See docs/architecture.md, "Robot ids".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator

from .reserved import reserved_problem

ROBOT_ID_MAX_CHARS = 128
FORBIDDEN_CHARS = frozenset("/+#")
_FORBIDDEN_CATEGORIES = {
    "Cc": "a control character",
    # Invisible: a zero-width space, a bidi override (U+202E), a BOM would make ids that
    # render alike in a table but are different robots.
    "Cf": "an invisible format character",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
_DOT_SEGMENTS = frozenset({".", ".."})
# The ids robots really use: checked by one regex, without a per-character loop.
_PLAIN = re.compile(r"[A-Za-z0-9_.:@ -]{1,128}")


def _describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def robot_id_problem(robot_id: object) -> str | None:
    """Why `robot_id` is not a valid robot id (a sentence a person reads), or None if it is."""
    if not isinstance(robot_id, str):
        return f"robot id must be a string, not {type(robot_id).__name__}"
    if len(robot_id) > ROBOT_ID_MAX_CHARS:
        return f"robot id is {len(robot_id)} characters; at most {ROBOT_ID_MAX_CHARS} are allowed"
    return _problem(robot_id)


@lru_cache(maxsize=8192)  # ingest asks twice per message, for the fleet's few ids
def _problem(robot_id: str) -> str | None:
    if _PLAIN.fullmatch(robot_id) and robot_id not in _DOT_SEGMENTS:
        return reserved_problem(robot_id)
    if not robot_id:
        return "robot id is empty"
    if len(robot_id) > ROBOT_ID_MAX_CHARS:
        return f"robot id is {len(robot_id)} characters; at most {ROBOT_ID_MAX_CHARS} are allowed"
    if robot_id in _DOT_SEGMENTS:
        return f"robot id may not be {robot_id!r} (a URL path would resolve it)"
    for position, char in enumerate(robot_id):
        if char in FORBIDDEN_CHARS:
            return f"robot id may not contain {char!r} (character {position + 1})"
        what = _FORBIDDEN_CATEGORIES.get(unicodedata.category(char))
        if what is not None:
            return f"robot id may not contain {what} ({_describe(char)} at character {position + 1})"
    # One spelling per rendering: `café` with a precomposed é (NFC) and with e + U+0301 (NFD)
    # look the same; only the NFC one is accepted. Refused, not folded: the id is the MQTT
    # topic level the robot publishes on, and a folded id would not be the robot's own.
    if not unicodedata.is_normalized("NFC", robot_id):
        return "robot id is not in Unicode normal form NFC (send composed characters: é as U+00E9)"
    return reserved_problem(robot_id)


def is_valid_robot_id(robot_id: object) -> bool:
    return robot_id_problem(robot_id) is None


def _checked(robot_id: str) -> str:
    problem = robot_id_problem(robot_id)
    if problem is not None:
        raise ValueError(problem)
    return robot_id


# For pydantic models (the API's path and body ids): a ValueError carrying the reason.
RobotId = Annotated[str, AfterValidator(_checked)]
