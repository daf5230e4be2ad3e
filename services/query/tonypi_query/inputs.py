"""Reading a request's path, query and body into the endpoint's pydantic models."""

from __future__ import annotations

import asyncio
import re
import types
from functools import cache
from typing import TypeVar, Union, get_args, get_origin

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


@cache  # per model, not per request
def _list_params(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if get_origin(field.annotation) is list
    )


_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")


@cache
def _int_params(model: type[BaseModel]) -> frozenset[str]:
    def is_int(annotation: object) -> bool:
        if get_origin(annotation) in (Union, types.UnionType):
            return any(is_int(a) for a in get_args(annotation))
        return annotation is int

    return frozenset(
        field.alias or name for name, field in model.model_fields.items() if is_int(field.annotation)
    )


def _integer_texts(model: type[BaseModel], values: dict) -> None:
    """An integer parameter is digits: pydantic would read `limit=0.0` as 0."""
    for key in _int_params(model) & values.keys():
        if isinstance(values[key], str) and not _INTEGER_TEXT.fullmatch(values[key]):
            raise RequestValidationError(
                [
                    {
                        "loc": ["query", key],
                        "msg": "Input should be a valid integer, written in digits (such as 100)",
                        "type": "int_parsing",
                    }
                ]
            )


def parse_query(request: web.Request, model: type[M]) -> M:
    # A repeated parameter: the last one wins, as in FastAPI; a list field takes them all.
    lists = _list_params(model)
    values = {
        key: request.query.getall(key) if key in lists else request.query.getall(key)[-1]
        for key in request.query
    }
    _integer_texts(model, values)
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
