"""API tokens: how one is made and how it is stored. One home, used by `tonypi token`
(which makes them) and the query service (which checks them).

A token is `tpk_` and 256 random bits (`secrets`, URL-safe base64). Only its SHA-256 is
kept anywhere (the event, the api_tokens row): a fast digest is right for random tokens of
this length, where a password hash (bcrypt, scrypt) is for guessable secrets.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "tpk_"
TOKEN_BYTES = 32  # 256 bits
TOKEN_CHARS = 43  # URL-safe base64 of TOKEN_BYTES, unpadded
_TOKEN_SHAPE = re.compile(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{{TOKEN_CHARS}}}")
ROLES = ("viewer", "operator", "admin")
# A token name is also a log field and a primary key: short, printable, no spaces.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$"


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """Hex SHA-256 of the token: what is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_api_token(value: str) -> bool:
    """The exact shape `new_api_token` makes: anything else is refused without a lookup."""
    return _TOKEN_SHAPE.fullmatch(value) is not None
