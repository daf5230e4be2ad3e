"""Two middlewares: request metrics by route template, and the ONE place errors become
responses (FastAPI-style bodies, as the seed's clients parse them)."""

from __future__ import annotations

import json
import logging
import time

import asyncpg
from aiohttp import web
from aiohttp.typedefs import Handler

from . import metrics
from .errors import ApiError, RequestTimeout, RequestValidationError
from .hangups import client_gone, hung_up

log = logging.getLogger(__name__)

UNMATCHED = "unmatched"


def route_template(request: web.Request) -> str:
    """The route's template (`/api/robots-db/robots/{robot_id}`), never the raw path:
    a label per robot id would grow the metric without bound."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = route_template(request)
        metrics.REQUESTS.labels(route, request.method, str(status)).inc()
        metrics.REQUEST_DURATION.labels(route, request.method).observe(time.perf_counter() - started)


def _detail(status: int, detail: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=json.dumps({"detail": detail}), content_type="application/json", headers=headers
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except RequestValidationError as exc:
        return _detail(422, exc.issues)
    except ApiError as exc:
        if exc.status in (401, 403):
            metrics.AUTH_REFUSED.labels(str(exc.status), type(exc).__name__).inc()
            # A failed authentication is counted, not logged one line each: a flood of bad
            # tokens would be a flood of lines. The throttle logs each burst once.
            level = logging.INFO if exc.status == 403 else logging.DEBUG
            log.log(level, "%s %s: %d %s", request.method, request.path, exc.status, exc.detail)
        response = _detail(exc.status, exc.detail, exc.headers)
        if isinstance(exc, RequestTimeout):
            response.force_close()  # the rest of a slow body is not worth waiting for
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects are answers, not errors
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _detail(exc.status, exc.reason, headers)
    except asyncpg.QueryCanceledError:
        log.warning("%s %s: statement timeout", request.method, request.path)
        return _detail(503, "The database took too long to answer; retry later")
    except asyncpg.DataError as exc:  # input validation should have caught it; still the client's
        # Never the exception's text: asyncpg puts the argument's repr and position in it.
        log.warning("%s %s: the database refused a value (%s)", request.method, request.path, exc)
        return _detail(
            422,
            [
                {
                    "loc": ["request"],
                    "msg": "a value is outside what the database accepts",
                    "type": "value_error",
                }
            ],
        )
    except asyncpg.UndefinedTableError:
        return _detail(503, "The read tables do not exist yet: is the projector running?")
    except (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        asyncpg.CannotConnectNowError,
    ) as exc:
        if client_gone(request):  # the client's socket failed, not the database's
            return hung_up(request, route_template(request), exc)
        log.warning("%s %s: database unavailable (%s)", request.method, request.path, exc)
        return _detail(503, "Database unavailable; retry later")
    except Exception as exc:
        if client_gone(request):  # a body cut off mid-way: aiohttp's payload error
            return hung_up(request, route_template(request), exc)
        log.exception("%s %s failed", request.method, request.path)
        return _detail(500, "Internal Server Error")
