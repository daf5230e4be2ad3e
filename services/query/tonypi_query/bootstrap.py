"""The composition root: settings in, a wired aiohttp application out.

Connections open and close in the app's cleanup contexts (never at import): the asyncpg
pool, the LISTEN connection for the projector's checkpoint, the NATS connection (opened in
the background, streams ensured) and the fleet gauge refresher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web
from tonypi_runtime.entrypoint import stop_event_on_signals
from tonypi_runtime.logs import configure_logging
from tonypi_runtime.ops import add_ops_routes
from tonypi_runtime.postgres import use_json_codecs
from tonypi_runtime.retry import retry_forever

from .api import ENDPOINTS
from .auth import AUTHENTICATOR, Authenticator, CredentialVerifier
from .checkpoint import CheckpointWatcher
from .config import QuerySettings, load_settings
from .cors import cors_middleware
from .endpoints import register
from .event_stream import EventStreamConnection
from .fleet import refresh_fleet_gauges
from .keys import CHECKPOINT, FEED, READS, SETTINGS, WRITES
from .live import FeedHub
from .middleware import error_middleware, metrics_middleware
from .openapi import add_docs_routes, openapi_document
from .reads import Reads
from .tokens import TokenVerifier
from .writes import RobotWrites

log = logging.getLogger("tonypi_query")

TITLE = "TonyPi Fleet Monitor API"
VERSION = "2.0.0"
DESCRIPTION = (
    "The seed's /api/robots-db API, unchanged, plus telemetry, log and job paging and "
    "search. Writes are events: they answer once the projector has applied them, or 202."
)
MAX_BODY_BYTES = 64 * 1024
CLOSE_TIMEOUT = 5.0
NATS_STARTUP_WAIT = 3.0
# aiohttp answers a longer request line with a bare text 400 before any middleware runs;
# 8 KiB (its default) is short for a query string with many filters.
MAX_REQUEST_LINE = 64 * 1024
DB_UNREACHABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.PostgresConnectionError,
)
POOL = web.AppKey("pool", asyncpg.Pool)
EVENT_STREAM = web.AppKey("event_stream", EventStreamConnection)


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Pool connections never change session state (no SET, LISTEN, advisory lock or cursor:
    the LISTEN has its own connection), so the default reset (RESET ALL, UNLISTEN *, ...)
    would be a wasted round trip on every release, a third of a cached read's time."""


def _connect_kwargs(settings: QuerySettings) -> dict:
    return {
        "dsn": settings.database.with_credentials,
        "server_settings": {
            "application_name": "tonypi-query",
            "statement_timeout": str(settings.statement_timeout_ms),
        },
    }


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]

    async def open_pool() -> asyncpg.Pool:
        return await asyncpg.create_pool(
            **_connect_kwargs(settings),
            min_size=1,
            max_size=settings.pool_max_size,
            init=use_json_codecs,
            reset=_keep_session,
        )

    app[POOL] = await retry_forever(
        open_pool, f"PostgreSQL at {settings.database.redacted}", log, retry_on=DB_UNREACHABLE
    )
    app[READS] = Reads(app[POOL], settings.online_timeout, concurrency=settings.pool_max_size)
    verifiers: list[CredentialVerifier] = [TokenVerifier(app[READS].api_token, settings.token_cache_seconds)]
    app[AUTHENTICATOR] = Authenticator(verifiers, reads_open=settings.reads_open)
    yield
    try:
        await asyncio.wait_for(app[POOL].close(), CLOSE_TIMEOUT)
    except TimeoutError:  # a connection stuck on a dead server: do not hang the exit
        app[POOL].terminate()


async def _checkpoint_listener(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[CHECKPOINT] = CheckpointWatcher(
        app[READS].checkpoint, lambda: asyncpg.connect(**_connect_kwargs(settings))
    )
    await app[CHECKPOINT].start()
    app[FEED] = FeedHub(app[POOL], app[CHECKPOINT], settings.sse_max_clients)
    await app[FEED].start()
    # Before the server waits for handlers to finish: live-feed streams never finish by themselves.
    app.on_shutdown.append(lambda app: app[FEED].stop())
    yield
    await app[FEED].stop()
    await app[CHECKPOINT].stop()


async def _event_stream(app: web.Application) -> AsyncIterator[None]:
    """Connects to NATS in the background: reads are served meanwhile, writes answer 503."""
    settings = app[SETTINGS]
    app[WRITES] = RobotWrites(settings.streams, app[READS], app[CHECKPOINT], settings.write_wait_timeout)
    connection = EventStreamConnection(settings)
    task = asyncio.create_task(connection.open(app[WRITES]), name="nats-connect")
    app[EVENT_STREAM] = connection
    # A NATS that answers is ready before the first request; one that does not delays
    # serving reads by this much at most.
    await asyncio.wait({task}, timeout=NATS_STARTUP_WAIT)
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await connection.close()


async def _fleet_gauges(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(refresh_fleet_gauges(app[READS], app[SETTINGS].fleet_gauge_interval))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def init_app(settings: QuerySettings) -> web.Application:
    # FastAPI answered `/robots/` with a 307 to `/robots`; the seed's clients may rely on it.
    trailing_slash = web.normalize_path_middleware(
        append_slash=False, remove_slash=True, redirect_class=web.HTTPTemporaryRedirect
    )
    app = web.Application(
        middlewares=[
            cors_middleware(settings.cors_allow_origins),
            trailing_slash,
            metrics_middleware,
            error_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.extend([_database, _checkpoint_listener, _event_stream, _fleet_gauges])
    register(app, ENDPOINTS)
    add_docs_routes(
        app, openapi_document(ENDPOINTS, TITLE, VERSION, DESCRIPTION, reads_open=settings.reads_open)
    )

    async def ready() -> tuple[bool, dict[str, str]]:
        checks = {}
        try:
            await asyncio.wait_for(app[READS].ping(), 2)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            checks["database"] = f"unreachable: {type(exc).__name__}"
        connected = EVENT_STREAM in app and app[EVENT_STREAM].connected
        checks["nats"] = "ok" if connected else "disconnected (writes answer 503)"
        return checks["database"] == "ok", checks

    add_ops_routes(app, ready)
    return app


async def serve() -> None:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    stop = stop_event_on_signals()
    runner = web.AppRunner(
        init_app(settings), access_log=None, max_line_size=MAX_REQUEST_LINE, max_field_size=MAX_REQUEST_LINE
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.bind.host, settings.bind.port)
    await site.start()
    base = f"http://{settings.bind.host}:{settings.bind.port}"
    if settings.reads_open:
        log.warning("API_READS=open: endpoints that only read answer WITHOUT a token; writes still need one")
    else:
        log.info("every endpoint needs a bearer token (API_READS=token)")
    log.info("serving the API at %s/api/robots-db and its docs at %s/docs", base, base)
    await stop.wait()
    log.info("stopping: draining requests")
    await runner.cleanup()
