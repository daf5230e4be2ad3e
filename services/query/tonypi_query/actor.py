"""Who is calling: the `actor` every write event carries (`{"name", "role"}`).

One function, so authentication (issue 11) fills it in one place. Until then every caller
is anonymous, with no role.
"""

from __future__ import annotations

from aiohttp import web

ANONYMOUS: dict[str, str | None] = {"name": "anonymous", "role": None}


def request_actor(request: web.Request) -> dict[str, str | None]:
    return dict(ANONYMOUS)
