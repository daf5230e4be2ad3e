"""Composition root: config -> connections -> forwarder, ingestor, MQTT source, ops server.

`serve` takes its ports: how an MQTT connection is opened (`mqtt_port.Connect`; paho by
default) and how the NATS link is made (`NatsLink` by default). The fast tests pass
in-memory ones; nothing else differs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tonypi_runtime.config import ConfigError, Env, process_env
from tonypi_runtime.entrypoint import stop_event_on_signals
from tonypi_runtime.logs import configure_logging
from tonypi_runtime.ops import OpsServer

from . import metrics
from .catalogue import ItemCatalogue
from .config import IngestConfig, load_config
from .deliverer import CommandDeliverer
from .forwarder import JetStreamForwarder
from .ingestor import Ingestor
from .mqtt_paho import paho_connector
from .mqtt_port import Connect
from .mqtt_source import MqttSource
from .nats_link import NatsLink

# Makes the NATS link, given what to call when JetStream becomes available.
MakeLink = Callable[[IngestConfig, Callable[[], None]], NatsLink]

log = logging.getLogger("tonypi_ingest")


def nats_link(config: IngestConfig, on_available: Callable[[], None]) -> NatsLink:
    return NatsLink(config.nats, config.streams, on_available=on_available)


async def serve(
    config: IngestConfig,
    stop: asyncio.Event,
    *,
    mqtt: Connect | None = None,
    make_link: MakeLink = nats_link,
) -> None:
    """Run ingest until `stop` is set, then drain and return."""
    catalogue = ItemCatalogue.from_file(config.catalogue_path)
    forwarder: JetStreamForwarder | None = None
    link = make_link(config, lambda: forwarder and forwarder.wake())
    forwarder = JetStreamForwarder(
        link,
        capacity=config.buffer_size,
        max_in_flight=config.max_in_flight,
        ack_timeout_s=config.ack_timeout_s,
    )
    metrics.BUFFER_DEPTH.set_function(lambda: forwarder.depth)
    metrics.MQTT_RECEIVE_MAXIMUM.set(config.receive_maximum)
    ingestor = Ingestor(
        forwarder,
        config.streams.subjects,
        catalogue,
        config.topic_prefix,
        send_reply=lambda topic, payload: source.send(topic, payload),
        identity=config.identity,
    )
    source = MqttSource(config, handle=ingestor.handle, connect=mqtt or paho_connector(config))

    async def ready() -> tuple[bool, dict[str, str]]:
        checks = {
            "mqtt": "subscribed" if source.subscribed else "not subscribed",
            "jetstream": link.state,  # reachable, unreachable, or which stream is missing
        }
        ok = source.subscribed and link.connected
        if config.deliver_commands:
            # Reading every robot's last status takes the event loop's time at start: ready
            # only once it is done, so a burst at readiness meets an idle loop (issue 23).
            caught_up = deliverer.presence.caught_up
            checks["presence"] = "caught up" if caught_up else "reading the stream"
            ok = ok and caught_up
        return ok, checks

    ops = OpsServer(config.http.host, config.http.port, ready)
    try:
        await ops.start()
    except OSError as exc:
        raise ConfigError(
            f"INGEST_PORT={config.http.port} on HTTP_HOST={config.http.host}: cannot listen ({exc})"
        ) from None
    log.info("ops endpoints on http://%s:%d (/metrics /livez /readyz)", config.http.host, config.http.port)

    deliverer = CommandDeliverer(
        config.streams,
        config.topic_prefix,
        source.publish,
        lambda: source.subscribed,
        config.command_consumer,
        config.online_timeout_s,
    )

    async def connect_then_deliver() -> None:
        await link.connect()
        while config.deliver_commands:
            try:
                # link.nc, not the first client: a client the server closed is replaced (NatsLink).
                await deliverer.run(link.nc)
            except Exception as exc:  # NATS trouble setting up the consumers: start them again
                log.warning("command delivery stopped (%s: %s); restarting it", type(exc).__name__, exc)
                await asyncio.sleep(1.0)

    # MQTT starts at once: while NATS is still unreachable, messages wait in the buffer.
    connecting = asyncio.create_task(connect_then_deliver())
    publishing = asyncio.create_task(forwarder.run())

    async def drain() -> None:
        if forwarder.depth:
            log.info("draining %d publishes", forwarder.depth)
        if not await forwarder.drained(config.drain_timeout_s):
            log.error(
                "drain timed out after %.0fs: %d messages not acknowledged by JetStream "
                "(QoS 1 ones stay unacknowledged at the broker)",
                config.drain_timeout_s,
                forwarder.depth,
            )

    try:
        await source.run(stop, drain)
    finally:
        connecting.cancel()
        publishing.cancel()
        # Let command delivery unsubscribe before the connection drains what is left.
        await asyncio.wait((connecting, publishing), timeout=5)
        await link.close()
        await ops.stop()
    log.info("stopped cleanly")


async def main(env: Env | None = None) -> None:
    config = load_config(env if env is not None else process_env())
    configure_logging(config.log_format, config.log_level)
    await serve(config, stop_event_on_signals())
