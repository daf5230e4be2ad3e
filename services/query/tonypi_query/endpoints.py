"""Endpoints as data: method, path, the models that validate the request and describe each
response. The router registers them and `openapi.py` documents them from the same table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from .auth import AUTHENTICATOR, Role
from .inputs import parse_body, parse_path, parse_query


@dataclass(frozen=True)
class Inputs:
    path: Any = None
    query: Any = None
    body: Any = None


Handler = Callable[[web.Request, Inputs], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Reply:
    """One documented response: its model (or type, e.g. list[RobotOut]) and headers."""

    model: Any
    description: str
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"
    also: tuple[str, ...] = ()  # further media types of the same body (an export's formats)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    replies: dict[int, Reply]
    path_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    body_model: type[BaseModel] | None = None
    # The least role a caller needs (auth.py): stated by every endpoint, no default.
    role: Role = field(kw_only=True)

    @property
    def name(self) -> str:
        return self.handler.__name__

    def aiohttp_handler(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            # Who, before anything about the request is parsed or answered.
            await request.app[AUTHENTICATOR].authorize(request, self.role)
            inputs = Inputs(
                path=parse_path(request, self.path_model) if self.path_model else None,
                query=parse_query(request, self.query_model) if self.query_model else None,
                body=await parse_body(request, self.body_model) if self.body_model else None,
            )
            return await self.handler(request, inputs)

        handle.__name__ = self.name
        return handle


def register(app: web.Application, endpoints: list[Endpoint]) -> None:
    for endpoint in endpoints:
        if endpoint.method == "GET":  # HEAD wherever GET is allowed: same handler, no body
            app.router.add_get(endpoint.path, endpoint.aiohttp_handler(), name=endpoint.name, allow_head=True)
        else:
            app.router.add_route(
                endpoint.method, endpoint.path, endpoint.aiohttp_handler(), name=endpoint.name
            )


_ADAPTERS: dict[Any, TypeAdapter] = {}


def json_reply(
    value: Any, as_type: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Serialise through the response's documented type, so the body always matches the schema."""
    return json_body_reply(json_reply_body(value, as_type), status, headers)


def json_reply_body(value: Any, as_type: Any) -> bytes:
    adapter = _ADAPTERS.get(as_type)
    if adapter is None:
        adapter = _ADAPTERS[as_type] = TypeAdapter(as_type)
    return adapter.dump_json(adapter.validate_python(value))


def json_body_reply(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON body already encoded as its documented type (e.g. robot_json)."""
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")
