"""Reading a request's path, query and body into the endpoint's pydantic models."""

from __future__ import annotations

import asyncio
from typing import TypeVar, get_origin

from aiohttp import web
from pydantic import BaseModel, ValidationError

from .errors import RequestTimeout, RequestValidationError, UnsupportedMediaType
from .keys import SETTINGS

DEFAULT_BODY_TIMEOUT = 10.0

M = TypeVar("M", bound=BaseModel)


def parse_path(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.match_info))
    except ValidationError as exc:
        raise RequestValidationError.from_pydantic(exc, "path") from None


def _list_params(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if get_origin(field.annotation) is list
    )


def parse_query(request: web.Request, model: type[M]) -> M:
    # A repeated parameter: the last one wins, as in FastAPI; a list field takes them all.
    lists = _list_params(model)
    values = {
        key: request.query.getall(key) if key in lists else request.query.getall(key)[-1]
        for key in request.query
    }
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError.from_pydantic(exc, "query") from None


async def parse_body(request: web.Request, model: type[M]) -> M:
    # Only JSON: a browser sends text/plain, form and multipart bodies (and a body without a
    # type) cross-origin without a preflight, so accepting them would let any web page write.
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            f"Unsupported media type {request.content_type!r}: send the body as application/json"
        )
    settings = request.app.get(SETTINGS)
    timeout = getattr(settings, "body_timeout", DEFAULT_BODY_TIMEOUT)
    try:
        async with asyncio.timeout(timeout):
            raw = await request.read()
    except TimeoutError:
        raise RequestTimeout(f"The request body did not arrive within {timeout:g}s") from None
    if not raw.strip():
        raise RequestValidationError(
            [{"loc": ["body"], "msg": "Field required: send a JSON object", "type": "missing"}]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError.from_pydantic(exc, "body") from None
