"""The MQTT side: connect, subscribe to every robot topic, hand each message over, and
acknowledge QoS 1 messages only when told to (after JetStream acked their events).

Reconnects with backoff when the broker goes away. With MQTT_CLIENT_ID set the session
is persistent, so the broker keeps QoS 1 messages for ingest while it is away and
redelivers the ones it never acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiomqtt
from tonypi_events import ROUTES, subscription_filter
from tonypi_runtime.entrypoint import sleep_unless
from tonypi_runtime.logs import Throttled
from tonypi_runtime.retry import backoff_delays

from . import metrics
from .config import IngestConfig
from .mqtt_session import NO_DELAY, ProtocolChoice, make_client, subscriptions

Callback = Callable[[], None]
MessageHandler = Callable[[str, bytes, "Callback | None"], None]
log = logging.getLogger("tonypi_ingest.mqtt")

__all__ = ["NO_DELAY", "MqttSource", "subscription_filters"]


def subscription_filters(config: IngestConfig) -> list[str]:
    return [subscription_filter(route, config.topic_prefix, config.shared_group) for route in ROUTES]


class MqttSource:
    def __init__(self, config: IngestConfig, handle: MessageHandler) -> None:
        self._config, self._handle = config, handle
        self._client: aiomqtt.Client | None = None
        self.subscribed = False
        self._throttled = Throttled(log)
        self._protocol = ProtocolChoice(config.protocol)

    def send(self, topic: str, payload: bytes) -> None:
        """Publish (QoS 1) without waiting; a reply that cannot go out is logged, not raised."""
        client = self._client
        if client is None or not self.subscribed:
            self._throttled.warning("reply", "MQTT disconnected: reply on %s not sent", topic)
            return
        # paho queues the packet and retransmits it until the broker's PUBACK.
        info = client._client.publish(topic, payload, qos=1)
        if info.rc != 0:
            self._throttled.warning("reply", "MQTT publish on %s failed (rc=%s)", topic, info.rc)

    async def publish(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        """Publish at QoS 1 and return once the broker's PUBACK arrived; raises when it cannot."""
        client = self._client
        if client is None or not self.subscribed:
            raise aiomqtt.MqttError("MQTT disconnected")
        await client.publish(topic, payload, qos=1, timeout=timeout)

    async def run(self, stop: asyncio.Event, drain: Callable[[], Awaitable[None]]) -> None:
        """Consume until `stop`; then stop taking messages, await `drain` (whose acks
        still go out on this connection), and disconnect."""
        delays = backoff_delays()
        url = self._config.mqtt
        while not stop.is_set():
            protocol = self._protocol.current
            client = make_client(self._config, protocol)
            paho = client._client
            # Messages go straight from paho's callback to the handler: aiomqtt's queue costs
            # a task and a wait per message, a third of ingest's CPU at 10k msg/s.
            taking = [True]
            # Bound now, not looked up when called: a late message from this connection must be
            # acknowledged on it, never on the next one.
            paho.on_message = lambda _c, _u, message, paho=paho, taking=taking: (
                taking[0] and self._dispatch(paho, message)
            )
            try:
                async with client:
                    self._protocol.connected()
                    filters = subscription_filters(self._config)
                    granted = await client.subscribe(
                        subscriptions(filters, self._config.subscribe_qos, protocol)
                    )
                    refused = [
                        f
                        for f, code in zip(filters, granted, strict=False)
                        if getattr(code, "value", code) >= 0x80
                    ]
                    if refused:  # an ACL or a broker without shared subscriptions: not ready
                        log.error("the MQTT broker refused subscriptions to %s; retrying", ", ".join(refused))
                        raise aiomqtt.MqttError("subscription refused")
                    self._client, self.subscribed = client, True
                    metrics.MQTT_CONNECTED.set(1)
                    group = self._config.shared_group
                    log.info(
                        "subscribed to %d robot topics on %s (MQTT %s)%s",
                        len(ROUTES),
                        url.redacted,
                        "5" if protocol is aiomqtt.ProtocolVersion.V5 else "3.1.1",
                        f" (shared group {group})" if group else "",
                    )
                    delays = backoff_delays()
                    await self._until_lost_or_stopped(client, stop)
                    await self._stop_taking(client, taking)
                    await drain()
                    return
            except aiomqtt.MqttError as exc:
                if stop.is_set():
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
                self._client, self.subscribed = None, False
                metrics.MQTT_CONNECTED.set(0)
        await drain()

    async def _until_lost_or_stopped(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        """Return when `stop` is set; raise MqttError when the connection is lost."""
        # The message iterator yields nothing (the callback took over); it ends with the connection.
        lost = asyncio.create_task(anext(aiter(client.messages)))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({lost, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if lost.done():
            stopping.cancel()
            lost.result()
            return
        lost.cancel()

    def _dispatch(self, paho, message) -> None:
        try:
            ack = _acker(paho, message.mid) if message.qos > 0 else None
            self._handle(message.topic, message.payload, ack)
        except Exception as exc:  # a bug here must cost one message, not the connection
            self._throttled.error(
                "dispatch",
                "could not handle a message on %r (%s: %s)",
                message._topic,
                type(exc).__name__,
                exc,
            )

    async def _stop_taking(self, client: aiomqtt.Client, taking: list[bool]) -> None:
        """Stop the flow; what already arrived has been handled.

        A clean session unsubscribes (the broker stops sending; what is still on the wire
        is handled). A persistent one stays subscribed, so the broker keeps queueing for
        it while ingest is away: QoS 1 messages arriving from here on are left
        unacknowledged and come back on the next connection.
        """
        if self._config.client_id is None:
            try:
                await client.unsubscribe(subscription_filters(self._config), timeout=5)
                await asyncio.sleep(0.1)  # stragglers already on the wire
            except aiomqtt.MqttError as exc:
                log.warning("could not unsubscribe while stopping (%s)", exc)
        taking[0] = False
        log.info("stopped taking MQTT messages")


def _acker(paho, mid: int) -> Callback:
    def ack() -> None:
        if paho.is_connected():  # a PUBACK belongs to the connection that got the message
            paho.ack(mid, 1)

    return ack
