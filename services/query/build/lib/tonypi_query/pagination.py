"""Keyset pagination: an opaque `before` cursor (sort time and id of the last row served)
and the `Link: <...>; rel="next"` header that carries it."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from aiohttp import web

from .errors import RequestValidationError


def encode_cursor(at: datetime, row_id: int) -> str:
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, id_text = raw.rsplit("|", 1)
        at, row_id = datetime.fromisoformat(at_text), int(id_text)
        if at.tzinfo is None or not -(2**63) <= row_id < 2**63:
            raise ValueError
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
    return at, row_id


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
