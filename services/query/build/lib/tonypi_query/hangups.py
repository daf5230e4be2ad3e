"""Clients that misbehave at the HTTP level are the client's doing, never the service's:

- a client that hangs up (an SSE reader closing its tab, a POST cut off mid-body) is counted
  in `tonypi_query_client_disconnects_total{route}` and logged at INFO (throttled); its
  request is recorded with status 499 (nginx's "client closed request"), never a 5xx;
- a malformed request head (NUL in a header, an over-long line, too many headers, a bare
  LF) is answered 400 by aiohttp's parser before any handler runs; aiohttp logs it as an
  ERROR with a traceback. `MalformedRequestLog` turns that into one WARNING line with the
  client's address, throttled, counted in `tonypi_query_malformed_requests_total{error}`.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from tonypi_runtime.logs import Throttled

from . import metrics

log = logging.getLogger(__name__)

CLIENT_CLOSED = 499
LOG_INTERVAL_S = 10.0
_throttled = Throttled(log, LOG_INTERVAL_S)


def client_gone(request: web.Request) -> bool:
    """Whether the client's connection is closed or closing (so nothing can be answered)."""
    transport = request.transport
    return transport is None or transport.is_closing()


def hung_up(request: web.Request, route: str, exc: BaseException) -> web.Response:
    metrics.CLIENT_DISCONNECTS.labels(route).inc()
    _throttled.log(
        logging.INFO,
        "hangup",
        "%s %s: the client hung up (%s); not an error",
        request.method,
        route,
        type(exc).__name__,
    )
    return web.Response(status=CLIENT_CLOSED)


class MalformedRequestLog(logging.Filter):
    """On the `aiohttp.server` logger: a parser error's traceback becomes one throttled
    WARNING line naming the client; every other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "unknown"
        error = type(exc).__name__
        metrics.MALFORMED_REQUESTS.labels(error).inc()
        _throttled.warning(
            "malformed",
            "malformed HTTP request from %s answered %d: %s (%s)",
            remote,
            getattr(exc, "code", 400) or 400,
            error,
            str(getattr(exc, "message", "") or exc)[:200],
        )
        return False


def install_malformed_request_log() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestLog) for f in server_log.filters):
        server_log.addFilter(MalformedRequestLog())
