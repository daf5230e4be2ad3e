"""Ingest settings, read once from the environment. See docs/ingest.md for each variable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tonypi_events import StreamNames
from tonypi_events.items import DEFAULT_CATALOGUE_PATH
from tonypi_runtime.config import ConfigError, Env, ServiceUrl, env_bool, env_float, env_int, env_str
from tonypi_runtime.connections import (
    HttpBind,
    http_bind,
    log_format,
    log_level,
    mqtt_topic_prefix,
    mqtt_url,
    nats_url,
    stream_names,
)

from .admission import LENIENT, IdentityPolicy


@dataclass(frozen=True)
class IngestConfig:
    mqtt: ServiceUrl
    nats: ServiceUrl
    streams: StreamNames
    topic_prefix: str
    shared_group: str | None  # MQTT shared subscription group: replicas split the load
    client_id: str | None  # set: a persistent MQTT session that survives ingest restarts
    subscribe_qos: int
    protocol: str  # "auto" (MQTT 5, else 3.1.1), "5" or "3.1.1"
    receive_maximum: int  # MQTT 5: QoS 1 messages ingest may hold unacknowledged
    session_expiry_s: int  # MQTT 5, with MQTT_CLIENT_ID: how long the broker keeps the session
    buffer_size: int  # events waiting for JetStream (e.g. while NATS is down)
    max_in_flight: int  # JetStream publishes awaiting their ack at once
    ack_timeout_s: float
    drain_timeout_s: float
    catalogue_path: Path
    deliver_commands: bool  # this replica hands operator commands to robots (docs/commands.md)
    command_consumer: str  # durable consumer name prefix shared by every replica
    online_timeout_s: float  # a robot with no status for this long is offline (commands with wait)
    http: HttpBind
    log_format: str
    log_level: str
    identity: IdentityPolicy = LENIENT


def _mqtt_token(env: Env, name: str) -> str | None:
    value = env_str(env, name)
    if value is not None and any(c in value for c in "/+#"):
        raise ConfigError(f"{name}={value!r} may not contain '/', '+' or '#'")
    return value


def _protocol(env: Env) -> str:
    value = env_str(env, "MQTT_PROTOCOL", "auto") or "auto"
    if value not in ("auto", "5", "3.1.1"):
        raise ConfigError(f"MQTT_PROTOCOL={value!r} must be auto, 5 or 3.1.1")
    return value


RECEIVE_MAXIMUM_DEFAULT = 65_535


def _receive_maximum(env: Env) -> int:
    # 65535, the most MQTT 5 allows: a stock Mosquitto (max_queued_messages 1000) then never
    # queues for ingest, so never drops (docs/ingest.md, "The QoS 1 window").
    value = env_int(env, "MQTT_RECEIVE_MAXIMUM", RECEIVE_MAXIMUM_DEFAULT, minimum=1)
    if value > 65535:
        raise ConfigError(f"MQTT_RECEIVE_MAXIMUM={value} must be at most 65535")
    return value


# INGEST_IDLESS_TOPICS -> (accept every id-less topic, accept id-less answers)
IDLESS_TOPIC_POLICIES = {"accept": (True, True), "answers": (False, True), "reject": (False, False)}


def _identity(env: Env) -> IdentityPolicy:
    strict = env_bool(env, "INGEST_STRICT_IDENTITY", False)
    idless = (env_str(env, "INGEST_IDLESS_TOPICS", "accept") or "").strip().lower()
    if idless not in IDLESS_TOPIC_POLICIES:
        raise ConfigError(f"INGEST_IDLESS_TOPICS={idless!r} must be accept, answers or reject")
    if not strict and idless != "accept":
        raise ConfigError(f"INGEST_IDLESS_TOPICS={idless} needs INGEST_STRICT_IDENTITY=true")
    accept_all, accept_answers = IDLESS_TOPIC_POLICIES[idless]
    return IdentityPolicy(strict=strict, accept_idless=accept_all, accept_idless_answers=accept_answers)


def _flag(env: Env, name: str, default: bool) -> bool:
    value = (env_str(env, name, "") or "").strip().lower()
    if value == "":
        return default
    if value not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{name}={value!r} must be 1 or 0")
    return value in ("1", "true", "yes")


def _consumer_name(env: Env) -> str:
    value = env_str(env, "INGEST_COMMAND_CONSUMER", "tonypi_ingest_commands") or "tonypi_ingest_commands"
    if any(c in value for c in ". *>\t") or len(value) > 100:
        raise ConfigError(f"INGEST_COMMAND_CONSUMER={value!r} may not contain '.', '*', '>' or spaces")
    return value


def load_config(env: Env) -> IngestConfig:
    qos = env_int(env, "MQTT_SUBSCRIBE_QOS", 1, minimum=0)
    if qos > 1:
        raise ConfigError(f"MQTT_SUBSCRIBE_QOS={qos} must be 0 or 1")
    catalogue = Path(env_str(env, "ITEM_CATALOGUE_PATH", str(DEFAULT_CATALOGUE_PATH)))
    if not catalogue.is_file():
        raise ConfigError(f"ITEM_CATALOGUE_PATH={str(catalogue)!r} is not a readable file")
    return IngestConfig(
        mqtt=mqtt_url(env),
        nats=nats_url(env),
        streams=stream_names(env),
        topic_prefix=mqtt_topic_prefix(env),
        shared_group=_mqtt_token(env, "MQTT_SHARED_GROUP"),
        client_id=_mqtt_token(env, "MQTT_CLIENT_ID"),
        subscribe_qos=qos,
        protocol=_protocol(env),
        receive_maximum=_receive_maximum(env),
        session_expiry_s=env_int(env, "MQTT_SESSION_EXPIRY_S", 86_400, minimum=0),
        buffer_size=env_int(env, "INGEST_BUFFER_SIZE", 100_000, minimum=1),
        max_in_flight=env_int(env, "INGEST_MAX_IN_FLIGHT", 2_000, minimum=1),
        ack_timeout_s=env_float(env, "INGEST_ACK_TIMEOUT_S", 5.0, minimum=0.1),
        drain_timeout_s=env_float(env, "INGEST_DRAIN_TIMEOUT_S", 15.0, minimum=0),
        catalogue_path=catalogue,
        deliver_commands=_flag(env, "INGEST_DELIVER_COMMANDS", True),
        command_consumer=_consumer_name(env),
        online_timeout_s=env_float(env, "ONLINE_TIMEOUT", 90.0, minimum=1),
        http=http_bind(env, "INGEST_PORT", 9101),
        log_format=log_format(env),
        log_level=log_level(env),
        identity=_identity(env),
    )
