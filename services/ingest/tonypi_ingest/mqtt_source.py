"""The MQTT side: connect, subscribe to every robot topic, hand each message over, and
acknowledge QoS 1 messages only when told to (after JetStream acked their events).

Reconnects with backoff when the broker goes away. With MQTT_CLIENT_ID set the session
is persistent, so the broker keeps QoS 1 messages for ingest while it is away and
redelivers the ones it never acknowledged.

Every QoS 1 message is acknowledged exactly once, also when handling it raised;
`tonypi_ingest_mqtt_unacked` is the window the connection holds. `$SYS` messages (the
broker's drop counter) go to `BrokerDrops`, never to the robot-message handler.

The connection itself is a port (`mqtt_port.Connect`): paho in production
(`mqtt_paho.py`), an in-memory broker in the fast tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tonypi_events import ROUTES, subscription_filter
from tonypi_events.bounds import safe_text
from tonypi_events.topics import publish_topic_problem
from tonypi_runtime.entrypoint import sleep_unless
from tonypi_runtime.logs import Throttled
from tonypi_runtime.retry import backoff_delays

from . import metrics
from .broker_stats import DROPPED_TOPIC, BrokerDrops
from .config import IngestConfig
from .mqtt_port import V5, Connect, MqttConnection, MqttError, Received
from .mqtt_session import NO_DELAY, ProtocolChoice

Callback = Callable[[], None]
MessageHandler = Callable[[str, bytes, "Callback | None", bool], None]  # topic, payload, ack, retained
log = logging.getLogger("tonypi_ingest.mqtt")

__all__ = ["NO_DELAY", "MqttSource", "subscription_filters"]


def subscription_filters(config: IngestConfig) -> list[str]:
    return [subscription_filter(route, config.topic_prefix, config.shared_group) for route in ROUTES]


class MqttSource:
    def __init__(self, config: IngestConfig, handle: MessageHandler, connect: Connect) -> None:
        self._config, self._handle, self._connect = config, handle, connect
        self._connection: MqttConnection | None = None  # subscribed and taking
        self._last: MqttConnection | None = None  # the latest, for the window metric
        self.subscribed = False
        self._throttled = Throttled(log)
        self._protocol = ProtocolChoice(config.protocol)
        self._handling: set[asyncio.Task] = set()
        self._broker_drops = BrokerDrops()
        metrics.MQTT_UNACKED.set_function(lambda: self._last.held if self._last is not None else 0)
        metrics.MQTT_INBOX.set_function(lambda: self._last.waiting if self._last is not None else 0)

    def send(self, topic: str, payload: bytes) -> None:
        """Publish (QoS 1) without waiting; a reply that cannot go out is logged, not raised.
        The topic is checked first: the broker disconnects a client publishing on a bad one."""
        problem = publish_topic_problem(topic)
        if problem is not None:
            metrics.REPLIES_REFUSED.inc()
            self._throttled.error("reply-topic", "reply not sent: %s", safe_text(problem))
            return
        connection = self._connection
        if connection is None:
            metrics.REPLIES_REFUSED.inc()
            self._throttled.warning("reply", "MQTT disconnected: reply on %s not sent", safe_text(topic, 200))
            return
        try:
            connection.send(topic, payload)
        except MqttError as exc:
            metrics.REPLIES_REFUSED.inc()
            self._throttled.warning("reply", "MQTT publish on %s failed (%s)", safe_text(topic, 200), exc)

    async def publish(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        """Publish at QoS 1 and return once the broker's PUBACK arrived; raises when it cannot."""
        problem = publish_topic_problem(topic)
        if problem is not None:  # the broker would disconnect ingest for it
            raise MqttError(f"not publishable: {problem}")
        connection = self._connection
        if connection is None:
            raise MqttError("MQTT disconnected")
        await connection.publish(topic, payload, timeout=timeout)

    async def run(self, stop: asyncio.Event, drain: Callable[[], Awaitable[None]]) -> None:
        """Consume until `stop`; then stop taking messages, await `drain` (whose acks
        still go out on this connection), and disconnect."""
        delays = backoff_delays()
        url = self._config.mqtt
        while not stop.is_set():
            protocol = self._protocol.current
            handling: asyncio.Task | None = None
            try:
                async with self._connect(protocol) as connection:
                    self._protocol.connected()
                    self._last = connection
                    # Messages are handled by a task of their own, in slices (inbox.py: the
                    # socket is read ahead of the handling, so the broker never queues for ingest).
                    handling = asyncio.create_task(self._handle_all(connection))
                    await self._subscribe(connection)
                    self._connection, self.subscribed = connection, True
                    metrics.MQTT_CONNECTED.set(1)
                    group = self._config.shared_group
                    log.info(
                        "subscribed to %d robot topics on %s (MQTT %s)%s",
                        len(ROUTES),
                        url.redacted,
                        "5" if protocol is V5 else "3.1.1",
                        f" (shared group {group})" if group else "",
                    )
                    delays = backoff_delays()
                    await self._until_lost_or_stopped(connection, stop)
                    await self._stop_taking(connection)
                    await handling  # what was taken is handled, then drained
                    await drain()
                    return
            except MqttError as exc:
                if stop.is_set():
                    if handling is not None:
                        await handling
                    await drain()
                    return
                if not self.subscribed:
                    self._protocol.failed()
                delay = next(delays)
                log.warning(
                    "MQTT broker at %s unreachable or lost (%s); retrying in %.1fs", url.redacted, exc, delay
                )
                await sleep_unless(stop, delay)
            finally:
                self._connection, self.subscribed = None, False
                metrics.MQTT_CONNECTED.set(0)
                if handling is not None and not handling.done():
                    # a lost connection's messages are still handled (their acks: no-ops)
                    self._handling.add(handling)
                    handling.add_done_callback(self._handling.discard)
        await drain()

    async def _subscribe(self, connection: MqttConnection) -> None:
        filters = subscription_filters(self._config)
        granted = await connection.subscribe(filters, self._config.subscribe_qos, skip_retained=True)
        refused = [f for f, ok in zip(filters, granted, strict=True) if not ok]
        if refused:  # an ACL or a broker without shared subscriptions: not ready
            log.error("the MQTT broker refused subscriptions to %s; retrying", ", ".join(refused))
            raise MqttError("subscription refused")
        await self._watch_broker_drops(connection)

    async def _until_lost_or_stopped(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Return when `stop` is set; raise MqttError when the connection is lost."""
        lost = asyncio.create_task(connection.wait_lost())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({lost, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if lost.done():
            stopping.cancel()
            raise MqttError("connection lost")
        lost.cancel()

    async def _watch_broker_drops(self, connection: MqttConnection) -> None:
        """Subscribe to the broker's drop counter; a broker that refuses (an ACL, no $SYS)
        leaves broker-side drops invisible, and says so once per connection."""
        try:
            (granted,) = await connection.subscribe([DROPPED_TOPIC], 0)
            problem = None if granted else "refused"
        except MqttError as exc:
            problem = str(exc)
        if problem is not None:
            log.warning(
                "cannot read %s from the MQTT broker (%s): drops at the broker stay invisible to ingest",
                DROPPED_TOPIC,
                problem,
            )

    async def _handle_all(self, connection: MqttConnection) -> None:
        async for message in connection.messages():
            self._dispatch(connection, message)

    def _dispatch(self, connection: MqttConnection, message: Received) -> None:
        ack = None
        if message.qos > 0:
            metrics.MQTT_QOS1_RECEIVED.inc()

            def ack() -> None:
                if connection.ack(message):
                    metrics.MQTT_ACKED.inc()

        try:
            topic = message.topic
            if topic.startswith("$"):  # $SYS: the broker's own counters
                self._broker_drops.observe(topic, message.payload, message.retain)
                if ack is not None:
                    ack()
                return
            self._handle(topic, message.payload, ack, message.retain)
        except Exception as exc:  # a bug here must cost one message, never the connection or the window
            self._throttled.error(
                "dispatch",
                "could not handle a message on %s (%s: %s)",
                safe_text(repr(message.topic), 200),
                type(exc).__name__,
                safe_text(str(exc), 300),
            )
            if ack is not None:
                ack()

    async def _stop_taking(self, connection: MqttConnection) -> None:
        """Stop the flow; what already arrived is handled.

        A clean session unsubscribes: once the broker's UNSUBACK is in, every message it
        sent before is taken (one ordered stream). A persistent one stays subscribed, so the
        broker keeps queueing for it while ingest is away: QoS 1 messages arriving from here
        on are left unacknowledged and come back on the next connection.
        """
        if self._config.client_id is None:
            try:
                await connection.unsubscribe(subscription_filters(self._config))
            except MqttError as exc:
                log.warning("could not unsubscribe while stopping (%s)", exc)
        connection.stop_taking()
        log.info("stopped taking MQTT messages")
