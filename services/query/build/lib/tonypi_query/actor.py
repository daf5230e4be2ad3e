"""Who is asking: the `actor` every write event carries ({"name", "role"}).

The authenticated principal (auth.py) of the request: a token's or OIDC subject's name and
role. Kept as the name i13's handlers call; `auth.actor` is the one implementation."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .auth import actor


def actor_of(request: web.Request) -> dict[str, Any]:
    return actor(request)
