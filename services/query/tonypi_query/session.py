"""Who am I: the caller as the API sees it, so a client (the console) shows only the actions
its role may take. Viewer level: anyone who may read may ask."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel

from .auth import principal
from .endpoints import Inputs, json_reply


class WhoAmIOut(BaseModel):
    name: str
    role: Literal["viewer", "operator", "admin"] | None  # None: anonymous (API_READS=open)
    via: str  # token | oidc | anonymous


async def whoami(request: web.Request, _: Inputs) -> web.Response:
    who = principal(request)
    return json_reply(who.actor(), WhoAmIOut)
