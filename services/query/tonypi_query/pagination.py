"""Keyset pagination: an opaque `before` cursor (sort time and id of the last row served)
and the `Link: <...>; rel="next"` header that carries it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from .errors import RequestValidationError


def encode_cursor(at: datetime, row_id: int) -> str:
    return encode_keyed_cursor(at, str(row_id))


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    return decode_keyed_cursor(cursor, lambda text: _int64(int(text)))


def encode_keyed_cursor(at: datetime, key: str) -> str:
    """A cursor of a sort time and any text key (e.g. a robot id) that breaks its ties."""
    raw = f"{at.isoformat()}|{key}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _int64(value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise ValueError
    return value


def decode_keyed_cursor(cursor: str, key: Callable[[str], Any] = str) -> tuple[datetime, Any]:
    """(sort time, key) of a cursor; `key` parses the key text (ValueError: not ours)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, key_text = raw.split("|", 1)  # an ISO time holds no "|"; the key may
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None or not key_text or "\x00" in key_text:
            raise ValueError
        return at, key(key_text)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise RequestValidationError(
            [
                {
                    "loc": ["query", "before"],
                    "msg": "Not a cursor this API issued: pass the `before` value of a Link header unchanged",
                    "type": "value_error",
                }
            ]
        ) from None


def encode_robot_cursor(robot_id: str) -> str:
    return base64.urlsafe_b64encode(robot_id.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()


def decode_robot_cursor(cursor: str) -> str:
    """The robot id a robot page ended with."""
    try:
        robot_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not robot_id or "\x00" in robot_id:
            raise ValueError
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise RequestValidationError(
            [
                {
                    "loc": ["query", "after"],
                    "msg": "Not a cursor this API issued: pass the `after` value of a Link header unchanged",
                    "type": "value_error",
                }
            ]
        ) from None
    return robot_id


def next_link(request: web.Request, cursor: str, param: str = "before") -> str:
    target = request.rel_url.update_query({param: cursor})
    return f'<{target}>; rel="next"'
