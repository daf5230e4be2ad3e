"""The query service's Prometheus metrics (default registry; names fixed in docs/query.md)."""

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "tonypi_query_requests_total", "HTTP requests answered, by route template", ["route", "method", "status"]
)
REQUEST_DURATION = Histogram(
    "tonypi_query_request_duration_seconds",
    "HTTP request latency, by route template",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WRITE_WAIT_SECONDS = Histogram(
    "tonypi_query_write_wait_seconds",
    "Time a write waited for the projector to apply its event",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WRITES_ACCEPTED = Counter(
    "tonypi_query_writes_accepted_total", "Writes answered 202: recorded, not yet applied within the wait"
)
FLEET_ROBOTS_ONLINE = Gauge(
    "tonypi_fleet_robots_online", "Active robots online (projected from the stream's clock)"
)
FLEET_ROBOTS_TOTAL = Gauge("tonypi_fleet_robots_total", "Active robots")
TOKEN_LOOKUPS = Counter(
    "tonypi_query_token_lookups_total",
    "API token digests looked up in api_tokens (cache misses), by outcome",
    ["outcome"],
)
AUTH_REFUSED = Counter(
    "tonypi_query_auth_refused_total",
    "Requests refused 401 or 403, by status and reason",
    ["status", "reason"],
)
AUTH_THROTTLED = Counter(
    "tonypi_query_auth_throttled_total",
    "Requests answered 429: their client address failed authentication too often (AUTH_FAILURE_BURST)",
)
AUTH_THROTTLE_CLIENTS = Gauge(
    "tonypi_query_auth_throttle_clients", "Client addresses with recent failed authentications (bounded)"
)
OIDC_VERIFIED = Counter("tonypi_query_oidc_verified_total", "JWTs from the identity provider accepted")
OIDC_JWKS_FAILURES = Counter(
    "tonypi_query_oidc_jwks_failures_total",
    "JWKS fetches that failed (unreachable, timeout, not a key set): OIDC tokens answered 503",
)
# Bounded labels: kind and severity take a handful of values each (docs/alarms.md).
ALARMS_ACTIVE = Gauge("tonypi_alarms_active", "Open alarms, by kind and severity", ["kind", "severity"])
# Bounded series: only the FLEET_GAUGE_TOP worst robots carry a robot_id label at a time.
ROBOT_BATTERY_LOWEST = Gauge(
    "tonypi_robot_battery_percent_lowest", "Battery of the robots with the lowest charge", ["robot_id"]
)
ROBOT_TEMPERATURE_HOTTEST = Gauge(
    "tonypi_robot_cpu_temperature_celsius_hottest", "CPU temperature of the hottest robots", ["robot_id"]
)
SSE_CLIENTS = Gauge("tonypi_query_sse_clients", "Server-Sent Events clients connected to this replica")
SSE_DROPPED = Counter(
    "tonypi_query_sse_dropped_total", "SSE clients cut off because they fell SSE_CLIENT_BUFFER records behind"
)
SSE_REFUSED = Counter("tonypi_query_sse_refused_total", "SSE connections refused: SSE_MAX_CLIENTS reached")
SSE_RECORDS = Counter("tonypi_query_sse_records_total", "Live-feed records written to SSE clients")
CLIENT_DISCONNECTS = Counter(
    "tonypi_query_client_disconnects_total",
    "Requests whose client hung up before the answer (SSE readers leaving, bodies cut off): not errors",
    ["route"],
)
MALFORMED_REQUESTS = Counter(
    "tonypi_query_malformed_requests_total",
    "Request heads aiohttp's parser refused with a 400 before any handler ran, by parser error",
    ["error"],
)
SCHEDULE_DISPATCHES = Counter(
    "tonypi_query_schedule_dispatches_total",
    "Due schedule firings whose start_job this replica appended, by outcome (appended, duplicate: "
    "another replica or an earlier try was first, failed: retried while in the window)",
    ["outcome"],
)
for _outcome in ("appended", "duplicate", "failed"):  # at 0 from start-up: an alert sees the first
    SCHEDULE_DISPATCHES.labels(_outcome)
