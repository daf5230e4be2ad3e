"""The query service's settings, read once from the environment.

Beyond the shared variables (DATABASE_URL, NATS_URL, EVENTS_STREAM, SUBJECT_PREFIX,
HTTP_HOST, QUERY_PORT, LOG_FORMAT, LOG_LEVEL):

WRITE_WAIT_TIMEOUT   seconds a write waits for the projector before answering 202 (5)
STATEMENT_TIMEOUT_MS PostgreSQL statement_timeout for every query (3000)
DB_POOL_MAX          connections in the asyncpg pool (10)
FLEET_GAUGE_INTERVAL seconds between refreshes of the fleet gauges on /metrics (15)
FLEET_GAUGE_TOP      robots per per-robot gauge: the lowest batteries, the hottest CPUs (20)
HTTP_HEADER_TIMEOUT  seconds a connection may take to send a complete request head, counted
                     from when it opened or from its previous response; then it is closed (15)
HTTP_BODY_TIMEOUT    seconds a request may take to send its body; then 408 and closed (10)
CORS_ALLOW_ORIGINS   comma-separated browser origins allowed to call the API; the seed's
                     dashboard origins by default (http://localhost:3001,http://frontend:3000);
                     empty to allow none; "*" is refused (a wildcard with bearer tokens
                     would let any page that obtained a token use it)
API_READS            "token" (default): every endpoint needs a bearer token; "open": endpoints
                     that only read answer without one (logged at start); writes always
                     need a token with the operator or admin role. Anything else: refused.
TOKEN_CACHE_SECONDS  how long a token check is cached (5, at most 60): a revoked token stops
                     working within this many seconds
SSE_CLIENT_BUFFER    live-feed records one SSE client may have waiting before it is cut off (1000)
SSE_HEARTBEAT        seconds between heartbeat comments on an idle SSE stream (15)
SSE_MAX_CLIENTS      concurrent SSE clients this replica serves; more are answered 503 (2000)
"""

from __future__ import annotations

from dataclasses import dataclass

from tonypi_events import StreamNames
from tonypi_runtime.config import ConfigError, Env, ServiceUrl, env_float, env_int, process_env
from tonypi_runtime.connections import (
    HttpBind,
    database_url,
    http_bind,
    log_format,
    log_level,
    nats_url,
    stream_names,
)

# Where the seed's dashboard ran (its CORS settings); existing deployments keep working.
SEED_DASHBOARD_ORIGINS = "http://localhost:3001,http://frontend:3000"


@dataclass(frozen=True)
class QuerySettings:
    bind: HttpBind
    database: ServiceUrl
    nats: ServiceUrl
    streams: StreamNames
    write_wait_timeout: float = 5.0
    statement_timeout_ms: int = 3000
    pool_max_size: int = 10
    fleet_gauge_interval: float = 15.0
    fleet_gauge_top: int = 20
    header_timeout: float = 15.0
    body_timeout: float = 10.0
    cors_allow_origins: frozenset[str] = frozenset()
    sse_client_buffer: int = 1000
    sse_heartbeat: float = 15.0
    sse_max_clients: int = 2000
    log_format: str = "text"
    log_level: str = "INFO"
    reads_open: bool = False
    token_cache_seconds: float = 5.0


API_READS_MODES = {"token": False, "open": True}
MAX_TOKEN_CACHE_SECONDS = 60.0


def _reads_open(env: Env) -> bool:
    mode = env.get("API_READS", "token").strip().lower()
    if mode not in API_READS_MODES:
        raise ConfigError(f"API_READS={mode!r}: must be 'token' (reads need a token) or 'open'")
    return API_READS_MODES[mode]


def _cors_origins(env: Env) -> frozenset[str]:
    origins = frozenset(
        o.strip() for o in env.get("CORS_ALLOW_ORIGINS", SEED_DASHBOARD_ORIGINS).split(",") if o.strip()
    )
    if "*" in origins or "null" in origins:
        raise ConfigError("CORS_ALLOW_ORIGINS: list the dashboard's origins; '*' and 'null' are refused")
    return origins


def _token_cache_seconds(env: Env) -> float:
    seconds = env_float(env, "TOKEN_CACHE_SECONDS", 5.0, minimum=0)
    if seconds > MAX_TOKEN_CACHE_SECONDS:
        raise ConfigError(
            f"TOKEN_CACHE_SECONDS={seconds}: at most {MAX_TOKEN_CACHE_SECONDS:.0f}, "
            "or a revoked token keeps working that long"
        )
    return seconds


def load_settings(env: Env | None = None) -> QuerySettings:
    env = process_env() if env is None else env
    return QuerySettings(
        bind=http_bind(env, "QUERY_PORT", 8000),
        database=database_url(env),
        nats=nats_url(env),
        streams=stream_names(env),
        write_wait_timeout=env_float(env, "WRITE_WAIT_TIMEOUT", 5.0, minimum=0),
        statement_timeout_ms=env_int(env, "STATEMENT_TIMEOUT_MS", 3000, minimum=1),
        pool_max_size=env_int(env, "DB_POOL_MAX", 10, minimum=1),
        fleet_gauge_interval=env_float(env, "FLEET_GAUGE_INTERVAL", 15.0, minimum=1),
        fleet_gauge_top=env_int(env, "FLEET_GAUGE_TOP", 20, minimum=0),
        header_timeout=env_float(env, "HTTP_HEADER_TIMEOUT", 15.0, minimum=0.1),
        body_timeout=env_float(env, "HTTP_BODY_TIMEOUT", 10.0, minimum=0.1),
        cors_allow_origins=_cors_origins(env),
        sse_client_buffer=env_int(env, "SSE_CLIENT_BUFFER", 1000, minimum=1),
        sse_heartbeat=env_float(env, "SSE_HEARTBEAT", 15.0, minimum=0.05),
        sse_max_clients=env_int(env, "SSE_MAX_CLIENTS", 2000, minimum=1),
        log_format=log_format(env),
        log_level=log_level(env),
        reads_open=_reads_open(env),
        token_cache_seconds=_token_cache_seconds(env),
    )
