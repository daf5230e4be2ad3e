"""API tokens: how one is made and how it is stored. One home, used by `tonypi token`
(which makes them) and the query service (which checks them).

A token is `tpk_` and 256 random bits (`secrets`, URL-safe base64). Only its SHA-256 is
kept anywhere (the event, the api_tokens row): a fast digest is right for random tokens of
this length, where a password hash (bcrypt, scrypt) is for guessable secrets.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "tpk_"
TOKEN_BYTES = 32  # 256 bits
ROLES = ("viewer", "operator", "admin")
# A token name is also a log field and a primary key: short, printable, no spaces.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,63}$"


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """Hex SHA-256 of the token: what is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_api_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)
