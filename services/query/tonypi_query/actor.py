"""Who is asking: the `actor` every write event carries ({"name", "role"}).

One function, so authentication (issue 11) fills it in one place. Until the API
authenticates callers, every caller is {"name": "anonymous", "role": null}.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

ANONYMOUS: dict[str, Any] = {"name": "anonymous", "role": None}
# The least role each kind of write needs once authentication is on (viewer < operator < admin).
OPERATOR = "operator"


def actor_of(request: web.Request) -> dict[str, Any]:
    return dict(ANONYMOUS)
