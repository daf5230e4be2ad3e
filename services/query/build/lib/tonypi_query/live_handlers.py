"""The live feed's endpoint: GET /api/robots-db/events (Server-Sent Events, docs/live.md)."""

from __future__ import annotations

from aiohttp import web

from .auth import principal
from .endpoints import Inputs
from .keys import FEED, SETTINGS
from .live import stream_events


async def live_events(request: web.Request, inputs: Inputs) -> web.StreamResponse:
    if request.method == "HEAD":  # HEAD is answered wherever GET is: the headers, no stream
        return web.Response(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    settings = request.app[SETTINGS]
    role = principal(request).role
    return await stream_events(
        request,
        request.app[FEED],
        inputs.query.robot_id,
        inputs.query.kinds,
        settings.sse_client_buffer,
        settings.sse_heartbeat,
        role.label if role is not None else None,
    )
