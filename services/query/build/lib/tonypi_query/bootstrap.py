"""The composition root: settings in, a wired aiohttp application out.

`init_app(settings, reads, writes)` builds the HTTP application over any read and write
side (the fast tests pass fakes); `build_app(settings)` wires the real ones. Connections
open and close in the app's cleanup contexts (never at import): the asyncpg pool, the
LISTEN connection for the projector's checkpoint, the NATS connection (opened in the
background, streams ensured) and the fleet gauge refresher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence

import asyncpg
from aiohttp import web
from tonypi_runtime.entrypoint import StoppedDuringStartup, stop_event_on_signals, unless_stopped
from tonypi_runtime.logs import configure_logging
from tonypi_runtime.ops import add_ops_routes
from tonypi_runtime.postgres import use_json_codecs
from tonypi_runtime.retry import retry_forever

from .api import ENDPOINTS
from .auth import AUTHENTICATOR, Authenticator, CredentialVerifier
from .checkpoint import CheckpointWatcher
from .config import QuerySettings, load_settings
from .console import add_console_routes
from .cors import cors_middleware
from .endpoints import register
from .event_stream import EventStreamConnection
from .fleet import refresh_fleet_gauges
from .hangups import install_malformed_request_log
from .keys import CHECKPOINT, FEED, READS, SETTINGS, WRITES
from .live import FeedHub
from .middleware import error_middleware, metrics_middleware
from .oidc import OidcNotConfigured, OidcVerifier
from .openapi import add_docs_routes, openapi_document
from .ports import ReadModel, WriteModel
from .reads import Reads
from .schedule_dispatcher import ScheduleDispatcher
from .throttle import FailedAuthThrottle
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
# After SIGTERM: how long requests still running may finish before their connections are
# closed. Live-feed streams end at once (they are woken); this bounds everything else, so
# a supervisor's stop (`tonypi up`, Kubernetes) never has to kill the process.
SHUTDOWN_GRACE = 1.5
DB_UNREACHABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.PostgresConnectionError,
)
POOL = web.AppKey("pool", asyncpg.Pool)


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


CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def _database(settings: QuerySettings, reads: Reads) -> CleanupContext:
    async def database(app: web.Application) -> AsyncIterator[None]:
        async def open_pool() -> asyncpg.Pool:
            return await asyncpg.create_pool(
                **_connect_kwargs(settings),
                min_size=1,
                max_size=settings.pool_max_size,
                init=use_json_codecs,
                reset=_keep_session,
            )

        pool = await retry_forever(
            open_pool,
            f"PostgreSQL at {settings.database.redacted}",
            log,
            retry_on=DB_UNREACHABLE,
            expected=(asyncpg.InvalidCatalogNameError,),  # the projector creates it at its start
        )
        app[POOL] = pool
        reads.attach(pool)
        yield
        await reads.close_probe()
        try:
            await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
        except TimeoutError:  # a connection stuck on a dead server: do not hang the exit
            pool.terminate()

    return database


def _checkpoint_listener(checkpoint: CheckpointWatcher) -> CleanupContext:
    async def listening(_app: web.Application) -> AsyncIterator[None]:
        await checkpoint.start()
        yield
        await checkpoint.stop()

    return listening


def _live_feed(settings: QuerySettings, checkpoint: CheckpointWatcher) -> CleanupContext:
    """The SSE feed (live.py) tails the projector's live_feed table through the pool."""

    async def live_feed(app: web.Application) -> AsyncIterator[None]:
        app[FEED] = FeedHub(app[POOL], checkpoint, settings.sse_max_clients)
        await app[FEED].start()
        yield
        await app[FEED].stop()

    return live_feed


def _event_stream(connection: EventStreamConnection, writes: RobotWrites) -> CleanupContext:
    """Connects to NATS in the background: reads are served meanwhile, writes answer 503."""

    async def event_stream(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(connection.open(writes), name="nats-connect")
        # A NATS that answers is ready before the first request; one that does not delays
        # serving reads by this much at most.
        await asyncio.wait({task}, timeout=NATS_STARTUP_WAIT)
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await connection.close()

    return event_stream


def _fleet_gauges(reads: Reads, interval: float, top: int) -> CleanupContext:
    async def fleet_gauges(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(refresh_fleet_gauges(reads, interval, top))
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return fleet_gauges


def _schedule_dispatcher(dispatcher: ScheduleDispatcher) -> CleanupContext:
    """Appends the start_job of each due schedule firing (schedule_dispatcher.py)."""

    async def dispatching(_app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop), name="schedule-dispatcher")
        yield
        stop.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    return dispatching


def init_app(
    settings: QuerySettings,
    reads: ReadModel,
    writes: WriteModel,
    *,
    checkpoint: CheckpointWatcher | None = None,
    lifecycle: Sequence[CleanupContext] = (),
) -> web.Application:
    """The HTTP application over the given read and write sides. `checkpoint`: what the
    command endpoints wait on (absent: they answer 500). `lifecycle`: cleanup contexts that
    open and close what they need (production: `build_app`); tests pass fakes and none."""
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
    app[READS] = reads
    app[WRITES] = writes
    # `tpk_…` goes to the token table, a JWT to the identity provider's keys (when configured).
    verifiers: list[CredentialVerifier] = [
        TokenVerifier(reads.api_token, settings.token_cache_seconds),
        OidcVerifier(settings.oidc) if settings.oidc is not None else OidcNotConfigured(),
    ]
    throttle = FailedAuthThrottle(settings.auth_failure_burst, settings.auth_failure_rate)
    app[AUTHENTICATOR] = Authenticator(verifiers, reads_open=settings.reads_open, throttle=throttle)
    if checkpoint is not None:
        app[CHECKPOINT] = checkpoint
    app.cleanup_ctx.extend(lifecycle)
    register(app, ENDPOINTS)
    add_docs_routes(
        app, openapi_document(ENDPOINTS, TITLE, VERSION, DESCRIPTION, reads_open=settings.reads_open)
    )

    async def ready() -> tuple[bool, dict[str, str]]:
        checks = {}
        try:
            await asyncio.wait_for(reads.ping(), 2)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; say which
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["nats"] = writes.state
        return checks["database"] == "ok", checks

    add_ops_routes(app, ready)
    add_console_routes(app, settings)
    return app


def build_app(settings: QuerySettings) -> web.Application:
    """The composition root: PostgreSQL reads, JetStream writes, and the connections they
    need, opened and closed with the app."""
    reads = Reads(
        None,
        concurrency=settings.pool_max_size,
        probe=lambda: asyncpg.connect(**_connect_kwargs(settings), timeout=2),
    )
    checkpoint = CheckpointWatcher(reads.checkpoint, lambda: asyncpg.connect(**_connect_kwargs(settings)))
    writes = RobotWrites(settings.streams, reads, checkpoint, settings.write_wait_timeout)
    lifecycle = [
        _database(settings, reads),
        _checkpoint_listener(checkpoint),
        _live_feed(settings, checkpoint),
        _event_stream(EventStreamConnection(settings), writes),
        _fleet_gauges(reads, settings.fleet_gauge_interval, settings.fleet_gauge_top),
        _schedule_dispatcher(ScheduleDispatcher(reads, writes, checkpoint)),
    ]
    app = init_app(settings, reads, writes, checkpoint=checkpoint, lifecycle=lifecycle)

    async def end_live_feeds(app: web.Application) -> None:
        # Before the server waits for handlers: live-feed streams never finish by themselves.
        if FEED in app:
            await app[FEED].stop()

    app.on_shutdown.append(end_live_feeds)
    return app


async def serve() -> None:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    install_malformed_request_log()
    stop = stop_event_on_signals()
    runner = web.AppRunner(
        build_app(settings),
        access_log=None,
        max_line_size=MAX_REQUEST_LINE,
        max_field_size=MAX_REQUEST_LINE,
        # aiohttp has no separate header timeout: its keep-alive timer starts when a connection
        # opens (and again after each response) and closes it if no complete request head has
        # arrived by then, so this bounds an idle, a slow or a half-sent request head alike.
        keepalive_timeout=settings.header_timeout,
        shutdown_timeout=SHUTDOWN_GRACE,
    )
    try:  # setup opens the pool, retrying until PostgreSQL answers
        await unless_stopped(stop, runner.setup())
    except StoppedDuringStartup:
        log.info("stopped during start-up")
        return
    site = web.TCPSite(runner, settings.bind.host, settings.bind.port)
    await site.start()
    base = f"http://{settings.bind.host}:{settings.bind.port}"
    if settings.reads_open:
        log.warning("API_READS=open: endpoints that only read answer WITHOUT a token; writes still need one")
    else:
        log.info("every endpoint needs a bearer token (API_READS=token)")
    if settings.oidc is not None:
        log.info(
            "OIDC: accepting JWTs from issuer %s for audience %s, keys from %s, role from claim %r",
            settings.oidc.issuer,
            settings.oidc.audience,
            settings.oidc.jwks_url,
            settings.oidc.role_claim,
        )
    log.info(
        "serving the API at %s/api/robots-db, its docs at %s/docs and the console at %s/console/",
        base,
        base,
        base,
    )
    await stop.wait()
    log.info("stopping: draining requests")
    await runner.cleanup()
