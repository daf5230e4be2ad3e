"""The settings shared by more than one service, read from the environment.

MQTT_URL     mqtt://[user[:password]@]host[:port]   (default mqtt://127.0.0.1:1883)
MQTT_USERNAME, MQTT_PASSWORD                         override the URL's credentials
NATS_URL     nats://[user:password@]host[:port]     (default nats://127.0.0.1:4222)
NATS_USER, NATS_PASSWORD                              override the URL's credentials
                                                     (each service its own user: nats-*/auth.conf)
DATABASE_URL postgresql://user[:password]@host[:port]/db[?param=value&...] (default postgresql://postgres@127.0.0.1:5432/tonypi_db);
             every query parameter goes to asyncpg as given (sslmode, sslrootcert, sslcert, sslkey, ...)
EVENTS_STREAM, DEAD_LETTER_STREAM, SUBJECT_PREFIX, STREAM_REPLICAS, EVENTS_MAX_AGE_DAYS, EVENTS_MAX_BYTES,
DEAD_LETTER_MAX_BYTES
MQTT_TOPIC_PREFIX   prepended to every robot topic (tests isolate themselves with it)
HTTP_HOST           where a service listens (default 127.0.0.1), with its own port variable
LOG_FORMAT          text (default) or json;  LOG_LEVEL  DEBUG, INFO (default), WARNING, ERROR, CRITICAL
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from tonypi_events import StreamNames

from .config import ConfigError, Env, ServiceUrl, env_float, env_int, env_str, env_url

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tonypi_db"


def mqtt_url(env: Env) -> ServiceUrl:
    url = env_url(env, "MQTT_URL", DEFAULT_MQTT_URL, {"mqtt": 1883, "tcp": 1883})
    username = env_str(env, "MQTT_USERNAME", url.username)
    password = env_str(env, "MQTT_PASSWORD", url.password)
    if password and not username:
        raise ConfigError("MQTT_PASSWORD is set but no user: set MQTT_USERNAME or put it in MQTT_URL")
    _refuse_placeholder("MQTT_PASSWORD", password)
    return replace(url, username=username, password=password)


def nats_url(env: Env) -> ServiceUrl:
    url = env_url(env, "NATS_URL", DEFAULT_NATS_URL, {"nats": 4222})
    username = env_str(env, "NATS_USER", url.username)
    password = env_str(env, "NATS_PASSWORD", url.password)
    if password and not username:
        raise ConfigError("NATS_PASSWORD is set but no user: set NATS_USER or put it in NATS_URL")
    _refuse_placeholder("NATS_PASSWORD", password)
    return replace(url, username=username, password=password)


# What deploy/k8s/base/secret.yaml holds until a real secret replaces it.
PLACEHOLDER_SECRET = "REPLACE_ME"


def _refuse_placeholder(name: str, value: str | None) -> None:
    if value == PLACEHOLDER_SECRET:
        raise ConfigError(f"{name} is still the placeholder {PLACEHOLDER_SECRET}: set the real secret")


def database_url(env: Env) -> ServiceUrl:
    url = env_url(env, "DATABASE_URL", DEFAULT_DATABASE_URL, {"postgresql": 5432, "postgres": 5432})
    if url.path.strip("/") == "":
        raise ConfigError(f"DATABASE_URL={url.redacted!r} names no database (…/tonypi_db)")
    _refuse_placeholder("DATABASE_URL's password", url.password)
    _check_tls_parameters(url)
    return url


SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SSL_FILES = ("sslrootcert", "sslcert", "sslkey", "sslcrl")


def _check_tls_parameters(url: ServiceUrl) -> None:
    """The mistakes asyncpg would only report at connect time, retried forever with an
    unclear message: an unknown sslmode, a certificate file that is not there."""
    params = url.parameters
    mode = params.get("sslmode")
    if mode is not None and mode not in SSL_MODES:
        raise ConfigError(f"DATABASE_URL sslmode={mode!r} must be one of {', '.join(SSL_MODES)}")
    for name in SSL_FILES:
        path = params.get(name)
        if path and path != "system" and not Path(path).expanduser().is_file():
            raise ConfigError(f"DATABASE_URL {name}={path!r}: no such file")


def stream_names(env: Env) -> StreamNames:
    defaults = StreamNames()
    return StreamNames(
        events=env_str(env, "EVENTS_STREAM", defaults.events),
        dead_letter=env_str(env, "DEAD_LETTER_STREAM", defaults.dead_letter),
        subject_prefix=env_str(env, "SUBJECT_PREFIX", defaults.subject_prefix),
        replicas=env_int(env, "STREAM_REPLICAS", defaults.replicas, minimum=1),
        events_max_age_days=env_float(env, "EVENTS_MAX_AGE_DAYS", defaults.events_max_age_days, minimum=0),
        # JetStream reserves max_bytes up front: two 50 GiB streams do not fit one server
        # with less free disk, so tests (many streams at once) set this small.
        events_max_bytes=env_int(env, "EVENTS_MAX_BYTES", defaults.events_max_bytes, minimum=1024 * 1024),
        dead_letter_max_bytes=env_int(
            env, "DEAD_LETTER_MAX_BYTES", defaults.dead_letter_max_bytes, minimum=1024 * 1024
        ),
    )


def mqtt_topic_prefix(env: Env) -> str:
    prefix = env_str(env, "MQTT_TOPIC_PREFIX", "") or ""
    if any(c in prefix for c in "+#"):
        raise ConfigError(f"MQTT_TOPIC_PREFIX={prefix!r} may not contain MQTT wildcards")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix


@dataclass(frozen=True)
class HttpBind:
    host: str
    port: int


def http_bind(env: Env, port_variable: str, default_port: int) -> HttpBind:
    """Where a service listens. Loopback unless HTTP_HOST asks for more (containers set 0.0.0.0)."""
    return HttpBind(
        env_str(env, "HTTP_HOST", "127.0.0.1"), env_int(env, port_variable, default_port, minimum=0)
    )


LOG_FORMATS = ("text", "json")


def log_format(env: Env) -> str:
    value = (env_str(env, "LOG_FORMAT", "text") or "text").lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT={value!r} must be one of {', '.join(LOG_FORMATS)}")
    return value


def log_level(env: Env) -> str:
    # Checked here: logging would otherwise refuse it only at configure time, with a traceback.
    value = (env_str(env, "LOG_LEVEL", "INFO") or "INFO").upper()
    if value not in logging.getLevelNamesMapping():
        raise ConfigError(f"LOG_LEVEL={value!r} is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return value
