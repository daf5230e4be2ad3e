"""The live feed, Server-Sent Events (docs/live.md)."""

from __future__ import annotations

from ..auth import Role
from ..command_models import EventsQuery
from ..endpoints import Endpoint, Reply
from ..live_handlers import live_events
from ..models import ErrorOut
from .replies import API, INVALID, LIVE

LIVE_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        f"{API}/events",
        live_events,
        "The live feed: Server-Sent Events, `id` = stream sequence; resume with Last-Event-ID",
        LIVE,
        {
            200: Reply(
                str,
                "text/event-stream: `id: <seq>`, `event: <event type>`, "
                "`data: {seq, robot_id, kinds, at, data}`; heartbeat comments; "
                "`event: gap` when Last-Event-ID is older than the feed keeps",
                media_type="text/event-stream",
            ),
            422: INVALID,
            503: Reply(ErrorOut, "this replica serves SSE_MAX_CLIENTS clients already"),
        },
        query_model=EventsQuery,
        role=Role.VIEWER,
    ),
]
