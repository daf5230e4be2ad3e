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
AUTH_FAILURE_BURST   failed authentications a client address may make in a row (20); then
AUTH_FAILURE_RATE    its tries are answered 429 with Retry-After, refilled at this many per
                     second (1). Behind a reverse proxy the address is the proxy's.
SSE_CLIENT_BUFFER    live-feed records one SSE client may have waiting before it is cut off (1000)
SSE_HEARTBEAT        seconds between heartbeat comments on an idle SSE stream (15)
SSE_MAX_CLIENTS      concurrent SSE clients this replica serves; more are answered 503 (2000)
HISTORY_RAW_DAYS     the projector's raw history retention (14): ranges starting earlier read rollups
HISTORY_MINUTE_DAYS  the projector's per-minute rollup retention (90): earlier ones read hours

OIDC (off unless OIDC_JWKS_URL is set; docs/query.md "OIDC"):
OIDC_JWKS_URL        the identity provider's JWKS (https; http only on the loopback)
OIDC_ISSUER          the `iss` every token must carry (required with OIDC_JWKS_URL)
OIDC_AUDIENCE        the `aud` every token must carry (required with OIDC_JWKS_URL)
OIDC_ROLE_CLAIM      claim naming the role, a dotted path for nested claims (tonypi_role)
OIDC_NAME_CLAIM      claim naming the caller in logs and events (sub)
OIDC_ALGORITHMS      accepted signature algorithms (RS256,ES256); asymmetric ones only
OIDC_LEEWAY          seconds of clock skew allowed on exp/nbf/iat (30, at most 120)
OIDC_JWKS_TIMEOUT    seconds one JWKS fetch may take (5, at most 30)
OIDC_CONSOLE_CLIENT_ID, OIDC_AUTHORIZE_URL, OIDC_TOKEN_URL, OIDC_SCOPE
                     the console's sign-in (authorization code + PKCE, a public client; all
                     three first ones or none; scope "openid"); shown to the browser, no secret
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

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


# Asymmetric algorithms only: with an HMAC one ("HS256") the JWKS's public key would become
# the shared secret, so anyone could sign; "none" signs nothing.
OIDC_ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MAX_OIDC_LEEWAY = 120.0
MAX_OIDC_JWKS_TIMEOUT = 30.0


@dataclass(frozen=True)
class OidcSettings:
    """Where JWTs from the site's identity provider are checked (oidc.py)."""

    jwks_url: str
    issuer: str
    audience: str
    role_claim: str = "tonypi_role"
    name_claim: str = "sub"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway: float = 30.0
    jwks_timeout: float = 5.0
    jwks_cache_seconds: float = 300.0  # the key set is fetched again after this long
    jwks_refetch_seconds: float = 30.0  # an unknown kid refetches at most this often
    jwks_retry_seconds: float = 5.0  # after a failed fetch, answer 503 this long without trying
    console: ConsoleSignIn | None = None  # the browser console's code + PKCE sign-in


@dataclass(frozen=True)
class ConsoleSignIn:
    """What the console needs to send an operator to the identity provider and back (a
    public client: no secret; the code is bound to the browser by PKCE)."""

    client_id: str
    authorize_url: str
    token_url: str
    scope: str = "openid"


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
    auth_failure_burst: int = 20
    auth_failure_rate: float = 1.0
    oidc: OidcSettings | None = None
    history_raw_days: float = 14.0  # the projector's HISTORY_RAW_DAYS: which table a history read uses
    history_minute_days: float = 90.0


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


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _jwks_url(url: str, name: str = "OIDC_JWKS_URL") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{name}={url!r}: must be an https:// URL")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ConfigError(
            f"{name}={url!r}: must be https (over http anyone on the path could swap the keys); "
            "http only on the loopback"
        )
    return url


def _algorithms(env: Env) -> tuple[str, ...]:
    raw = env.get("OIDC_ALGORITHMS", "RS256,ES256")
    algorithms = tuple(dict.fromkeys(a.strip() for a in raw.split(",") if a.strip()))
    refused = [a for a in algorithms if a not in OIDC_ALLOWED_ALGORITHMS]
    if refused or not algorithms:
        raise ConfigError(
            f"OIDC_ALGORITHMS={raw!r}: only {', '.join(sorted(OIDC_ALLOWED_ALGORITHMS))}; "
            "'none' and HS* are refused (an HMAC check would take the public key as its secret)"
        )
    return algorithms


def _claim_name(env: Env, name: str, default: str) -> str:
    claim = env.get(name, default).strip()
    if not claim or len(claim) > 256 or any(not part for part in claim.split(".")):
        raise ConfigError(f"{name}={claim!r}: a claim name, or a dotted path like realm_access.roles")
    return claim


def _bounded(env: Env, name: str, default: float, minimum: float, maximum: float) -> float:
    value = env_float(env, name, default, minimum=minimum)
    if value > maximum:
        raise ConfigError(f"{name}={value}: at most {maximum:g}")
    return value


def _oidc(env: Env) -> OidcSettings | None:
    url = env.get("OIDC_JWKS_URL", "").strip()
    if not url:
        stray = sorted(k for k, v in env.items() if k.startswith("OIDC_") and v.strip())
        if stray:
            raise ConfigError(
                f"{stray[0]} is set but OIDC_JWKS_URL is not: set it, or unset the OIDC_ settings"
            )
        return None
    required = {}
    for name in ("OIDC_ISSUER", "OIDC_AUDIENCE"):
        required[name] = env.get(name, "").strip()
        if not required[name]:
            raise ConfigError(
                f"{name} is required with OIDC_JWKS_URL: tokens are accepted only for this {name[5:].lower()}"
            )
    return OidcSettings(
        jwks_url=_jwks_url(url),
        issuer=required["OIDC_ISSUER"],
        audience=required["OIDC_AUDIENCE"],
        role_claim=_claim_name(env, "OIDC_ROLE_CLAIM", "tonypi_role"),
        name_claim=_claim_name(env, "OIDC_NAME_CLAIM", "sub"),
        algorithms=_algorithms(env),
        leeway=_bounded(env, "OIDC_LEEWAY", 30.0, 0, MAX_OIDC_LEEWAY),
        jwks_timeout=_bounded(env, "OIDC_JWKS_TIMEOUT", 5.0, 0.1, MAX_OIDC_JWKS_TIMEOUT),
        console=_console_sign_in(env),
    )


def _console_sign_in(env: Env) -> ConsoleSignIn | None:
    names = ("OIDC_CONSOLE_CLIENT_ID", "OIDC_AUTHORIZE_URL", "OIDC_TOKEN_URL")
    values = {name: env.get(name, "").strip() for name in names}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"{missing[0]} is required with {', '.join(n for n in names if n not in missing)}")
    for name in names[1:]:
        _jwks_url(values[name], name)  # the same rule: https, http only on the loopback
    return ConsoleSignIn(
        client_id=values["OIDC_CONSOLE_CLIENT_ID"],
        authorize_url=values["OIDC_AUTHORIZE_URL"],
        token_url=values["OIDC_TOKEN_URL"],
        scope=env.get("OIDC_SCOPE", "").strip() or "openid",
    )


def load_settings(env: Env | None = None) -> QuerySettings:
    env = process_env() if env is None else env
    return QuerySettings(
        bind=http_bind(env, "QUERY_PORT", 8000),
        database=database_url(env),
        nats=nats_url(env),
        streams=stream_names(env),
        write_wait_timeout=env_float(env, "WRITE_WAIT_TIMEOUT", 5.0, minimum=0),
        history_raw_days=env_float(env, "HISTORY_RAW_DAYS", 14.0, minimum=0),
        history_minute_days=env_float(env, "HISTORY_MINUTE_DAYS", 90.0, minimum=0),
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
        auth_failure_burst=env_int(env, "AUTH_FAILURE_BURST", 20, minimum=1),
        auth_failure_rate=env_float(env, "AUTH_FAILURE_RATE", 1.0, minimum=0.01),
        oidc=_oidc(env),
    )
