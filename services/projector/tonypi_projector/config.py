"""The projector's settings, read once from the environment.

Beyond the shared variables (NATS_URL, DATABASE_URL, EVENTS_STREAM, SUBJECT_PREFIX,
HTTP_HOST, PROJECTOR_PORT, LOG_FORMAT, LOG_LEVEL):

PROJECTOR_BATCH_SIZE        events fetched and applied per transaction, at most (500)
PROJECTOR_FETCH_TIMEOUT     seconds one pull waits for a first event on a quiet stream (1.0); an event
                            that arrives is applied at once, whatever this says
PROJECTOR_TICK_SLICE        silent robots a clock tick folds per transaction, at most (500): an offline
                            storm is applied in slices (docs/alarms.md, "The offline storm")
PROJECTOR_CONSUMER          durable consumer name on the events stream (tonypi_projector)
PROJECTOR_STANDBY_POLL      seconds a standby waits between tries for the active lock (1.0)
PROJECTOR_PROGRESS_INTERVAL seconds between checks of the stream's end against the checkpoint (5)
PROJECTOR_STALL_SECONDS     behind and not advancing for this long: /readyz answers 503 (60)
LOG_RETENTION_DAYS          system_logs older than this are pruned; 0 keeps them forever (30)
LOG_RETENTION_INTERVAL      seconds between pruning passes (300)
CLOCK_TICK_PERIOD           seconds between clock_tick events this replica emits (5); 0 emits none
                            (another replica or service must then keep the stream's time)
ONLINE_TIMEOUT              seconds of silence after which a robot goes offline (90), carried in
                            each tick so a replay rebuilds the same history
LIVE_FEED_RETENTION_MINUTES live_feed records older than this are pruned (60): how far back an SSE
                            client may resume with Last-Event-ID
HISTORY_ENABLED             write the telemetry history (true); off: no samples are written
HISTORY_RAW_DAYS            raw history samples kept this long (14); 0 keeps them forever
HISTORY_MINUTE_DAYS         per-minute rollups kept this long (90); 0 keeps them forever
HISTORY_HOUR_DAYS           per-hour rollups kept this long (730); 0 keeps them forever
HISTORY_MAINTENANCE_INTERVAL seconds between passes creating partitions ahead and dropping old ones (300)
ITEM_CATALOGUE_PATH         JSON catalogue of QR code -> item for jobs.last_item; the same file
                            ingest answers scans from (default: tonypi_events' demo catalogue)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tonypi_events import StreamNames
from tonypi_events.items import DEFAULT_CATALOGUE_PATH
from tonypi_runtime.config import (
    ConfigError,
    Env,
    ServiceUrl,
    env_bool,
    env_float,
    env_int,
    env_str,
    process_env,
)
from tonypi_runtime.connections import (
    HttpBind,
    database_url,
    http_bind,
    log_format,
    log_level,
    nats_url,
    stream_names,
)

from .history_store import HistoryPolicy


@dataclass(frozen=True)
class ProjectorSettings:
    bind: HttpBind
    database: ServiceUrl
    nats: ServiceUrl
    streams: StreamNames
    batch_size: int = 1000
    fetch_timeout: float = 1.0
    tick_slice: int = 500
    consumer: str = "tonypi_projector"
    standby_poll: float = 1.0
    progress_interval: float = 5.0
    stall_seconds: float = 60.0
    log_retention_days: float = 30.0
    log_retention_interval: float = 300.0
    item_catalogue_path: Path = DEFAULT_CATALOGUE_PATH
    clock_tick_period: int = 5
    online_timeout: float = 90.0
    live_feed_retention_s: float = 3600.0
    history: HistoryPolicy = field(default_factory=HistoryPolicy)
    history_maintenance_interval: float = 300.0
    log_format: str = "text"
    log_level: str = "INFO"


def load_settings(env: Env | None = None) -> ProjectorSettings:
    env = process_env() if env is None else env
    consumer = env_str(env, "PROJECTOR_CONSUMER", "tonypi_projector")
    if any(c in consumer for c in ". *>\t"):
        raise ConfigError(f"PROJECTOR_CONSUMER={consumer!r} may not contain '.', '*', '>' or spaces")
    return ProjectorSettings(
        bind=http_bind(env, "PROJECTOR_PORT", 9102),
        database=database_url(env),
        nats=nats_url(env),
        streams=stream_names(env),
        batch_size=env_int(env, "PROJECTOR_BATCH_SIZE", 1000, minimum=1),
        fetch_timeout=env_float(env, "PROJECTOR_FETCH_TIMEOUT", 1.0, minimum=0.01),
        tick_slice=env_int(env, "PROJECTOR_TICK_SLICE", 500, minimum=1),
        consumer=consumer,
        standby_poll=env_float(env, "PROJECTOR_STANDBY_POLL", 1.0, minimum=0.05),
        progress_interval=env_float(env, "PROJECTOR_PROGRESS_INTERVAL", 5.0, minimum=0.05),
        stall_seconds=env_float(env, "PROJECTOR_STALL_SECONDS", 60.0, minimum=0.1),
        log_retention_days=env_float(env, "LOG_RETENTION_DAYS", 30.0, minimum=0),
        log_retention_interval=env_float(env, "LOG_RETENTION_INTERVAL", 300.0, minimum=1),
        item_catalogue_path=Path(env_str(env, "ITEM_CATALOGUE_PATH", str(DEFAULT_CATALOGUE_PATH))),
        clock_tick_period=env_int(env, "CLOCK_TICK_PERIOD", 5, minimum=0),
        online_timeout=env_float(env, "ONLINE_TIMEOUT", 90.0, minimum=1),
        live_feed_retention_s=60 * env_float(env, "LIVE_FEED_RETENTION_MINUTES", 60.0, minimum=1),
        history=HistoryPolicy(
            enabled=env_bool(env, "HISTORY_ENABLED", True),
            raw_days=env_float(env, "HISTORY_RAW_DAYS", 14.0, minimum=0),
            minute_days=env_float(env, "HISTORY_MINUTE_DAYS", 90.0, minimum=0),
            hour_days=env_float(env, "HISTORY_HOUR_DAYS", 730.0, minimum=0),
        ),
        history_maintenance_interval=env_float(env, "HISTORY_MAINTENANCE_INTERVAL", 300.0, minimum=1),
        log_format=log_format(env),
        log_level=log_level(env),
    )
