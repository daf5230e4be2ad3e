"""The MQTT side: connect, subscribe to every robot topic, hand each message over, and
acknowledge QoS 1 messages only when told to (after JetStream acked their events).

Reconnects with backoff when the broker goes away. With MQTT_CLIENT_ID set the session
is persistent, so the broker keeps QoS 1 messages for ingest while it is away and
redelivers the ones it never acknowledged.

Every QoS 1 message is acknowledged exactly once (`Acker`), also when handling it raised;
`tonypi_ingest_mqtt_unacked` is the window the connection holds. `$SYS` messages (the
broker's drop counter) go to `BrokerDrops`, never to the robot-message handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiomqtt
from tonypi_events import ROUTES, subscription_filter
from tonypi_events.bounds import safe_text
from tonypi_events.topics import publish_topic_problem
from tonypi_runtime.entrypoint import sleep_unless
from tonypi_runtime.logs import Throttled
from tonypi_runtime.retry import backoff_delays

from . import metrics
from .broker_stats import DROPPED_TOPIC, BrokerDrops
from .config import IngestConfig
from .inbox import Inbox, read_ahead
from .mqtt_session import NO_DELAY, ProtocolChoice, make_client, subscriptions

Callback = Callable[[], None]
MessageHandler = Callable[[str, bytes, "Callback | None", bool], None]  # topic, payload, ack, retained
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
        self._window = Window()
        self._inbox = Inbox(self._dispatch)
        self._handling: set[asyncio.Task] = set()
        self._broker_drops = BrokerDrops()
        metrics.MQTT_UNACKED.set_function(lambda: self._window.held)
        metrics.MQTT_INBOX.set_function(lambda: len(self._inbox))

    def send(self, topic: str, payload: bytes) -> None:
        """Publish (QoS 1) without waiting; a reply that cannot go out is logged, not raised.
        The topic is checked first: the broker disconnects a client publishing on a bad one."""
        problem = publish_topic_problem(topic)
        if problem is not None:
            metrics.REPLIES_REFUSED.inc()
            self._throttled.error("reply-topic", "reply not sent: %s", safe_text(problem))
            return
        client = self._client
        if client is None or not self.subscribed:
            self._throttled.warning("reply", "MQTT disconnected: reply on %s not sent", safe_text(topic, 200))
            return
        # paho queues the packet and retransmits it until the broker's PUBACK.
        try:
            info = client._client.publish(topic, payload, qos=1)
        except (ValueError, TypeError) as exc:
            self._throttled.warning("reply", "MQTT publish on %s refused (%s)", safe_text(topic, 200), exc)
            return
        if info.rc != 0:
            self._throttled.warning(
                "reply", "MQTT publish on %s failed (rc=%s)", safe_text(topic, 200), info.rc
            )

    async def publish(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        """Publish at QoS 1 and return once the broker's PUBACK arrived; raises when it cannot."""
        problem = publish_topic_problem(topic)
        if problem is not None:  # the broker would disconnect ingest for it
            raise aiomqtt.MqttError(f"not publishable: {problem}")
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
            # Messages go from paho's callback to the inbox, handled there in slices (inbox.py:
            # the socket is read ahead of the handling, so the broker never queues for ingest).
            # Not aiomqtt's queue: it costs a task and a wait per message.
            taking = [True]
            window = self._window = Window()
            inbox = self._inbox = Inbox(self._dispatch)
            handling = asyncio.create_task(inbox.run())
            read_ahead(paho)
            # Bound now, not looked up when called: a late message from this connection must be
            # acknowledged on it, never on the next one.
            paho.on_message = lambda _c, _u, message, paho=paho, taking=taking, window=window, inbox=inbox: (
                taking[0] and self._receive(paho, window, inbox, message)
            )
            try:
                async with client:
                    self._protocol.connected()
                    filters = subscription_filters(self._config)
                    granted = await client.subscribe(
                        subscriptions(filters, self._config.subscribe_qos, protocol)
                    )
                    refused = [f for f, code in zip(filters, granted, strict=True) if _refused_code(code)]
                    if refused:  # an ACL or a broker without shared subscriptions: not ready
                        log.error("the MQTT broker refused subscriptions to %s; retrying", ", ".join(refused))
                        raise aiomqtt.MqttError("subscription refused")
                    await self._watch_broker_drops(client)
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
                    inbox.close()
                    await handling  # what was read is handled, then drained
                    await drain()
                    return
            except aiomqtt.MqttError as exc:
                if stop.is_set():
                    inbox.close()
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
                self._client, self.subscribed = None, False
                metrics.MQTT_CONNECTED.set(0)
                inbox.close()  # a lost connection's messages are still handled (acks: no-ops)
                self._handling.add(handling)
                handling.add_done_callback(self._handling.discard)
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

    async def _watch_broker_drops(self, client: aiomqtt.Client) -> None:
        """Subscribe to the broker's drop counter; a broker that refuses (an ACL, no $SYS)
        leaves broker-side drops invisible, and says so once per connection."""
        try:
            granted = await client.subscribe(DROPPED_TOPIC, qos=0, timeout=5)
            problem = "refused" if any(_refused_code(code) for code in granted) else None
        except aiomqtt.MqttError as exc:
            problem = str(exc)
        if problem is not None:
            log.warning(
                "cannot read %s from the MQTT broker (%s): drops at the broker stay invisible to ingest",
                DROPPED_TOPIC,
                problem,
            )

    def _receive(self, paho, window: Window, inbox: Inbox, message) -> None:
        """paho's callback: the message takes its slot of the window, and waits its turn."""
        ack = Acker(paho, message.mid, window) if message.qos > 0 else None
        inbox.put((message, ack))

    def _dispatch(self, item: tuple) -> None:
        message, ack = item
        try:
            topic = message.topic
            if topic.startswith("$"):  # $SYS: the broker's own counters
                self._broker_drops.observe(topic, message.payload, bool(message.retain))
                if ack is not None:
                    ack()
                return
            self._handle(topic, message.payload, ack, bool(message.retain))
        except Exception as exc:  # a bug here must cost one message, never the connection or the window
            self._throttled.error(
                "dispatch",
                "could not handle a message on %s (%s: %s)",
                safe_text(repr(message._topic), 200),
                type(exc).__name__,
                safe_text(str(exc), 300),
            )
            if ack is not None:
                ack()

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


def _refused_code(code) -> bool:
    return getattr(code, "value", code) >= 0x80


class Window:
    """QoS 1 messages one connection received and has not acknowledged yet."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = 0


class Acker:
    """Acknowledge one QoS 1 message, once: a second call does nothing (a PUBACK sent twice
    could acknowledge a later message that reused the packet id)."""

    __slots__ = ("_done", "_mid", "_paho", "_window")

    def __init__(self, paho, mid: int, window: Window) -> None:
        self._paho, self._mid, self._window, self._done = paho, mid, window, False
        window.held += 1
        metrics.MQTT_QOS1_RECEIVED.inc()

    def __call__(self) -> None:
        if self._done:
            return
        self._done = True
        self._window.held -= 1
        if self._paho.is_connected():  # a PUBACK belongs to the connection that got the message
            self._paho.ack(self._mid, 1)
            metrics.MQTT_ACKED.inc()
