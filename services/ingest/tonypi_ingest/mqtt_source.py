"""The MQTT side: connect, subscribe to every robot topic, hand each message over, and
acknowledge QoS 1 messages only when told to (after JetStream acked their events).

Reconnects with backoff when the broker goes away. With MQTT_CLIENT_ID set the session
is persistent, so the broker keeps QoS 1 messages for ingest while it is away and
redelivers the ones it never acknowledged.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from typing import Awaitable, Callable

import aiomqtt

from tonypi_events import ROUTES, subscription_filter
from tonypi_runtime.retry import backoff_delays

from . import metrics
from .config import IngestConfig

Callback = Callable[[], None]
MessageHandler = Callable[[str, bytes, "Callback | None"], None]
log = logging.getLogger("tonypi_ingest.mqtt")

# paho leaves Nagle on: two small writes in a row (a PUBACK after a PUBACK) then wait for the
# broker's delayed TCP ACK, ~40 ms each time. That alone holds QoS 1 to tens of messages a second.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def subscription_filters(config: IngestConfig) -> list[str]:
    return [subscription_filter(route, config.topic_prefix, config.shared_group) for route in ROUTES]


class MqttSource:
    def __init__(self, config: IngestConfig, handle: MessageHandler) -> None:
        self._config, self._handle = config, handle
        self._client: aiomqtt.Client | None = None
        self.subscribed = False

    def send(self, topic: str, payload: bytes) -> None:
        """Publish (QoS 1) without waiting; a reply that cannot go out is logged, not raised."""
        client = self._client
        if client is None or not self.subscribed:
            log.warning("MQTT disconnected: reply on %s not sent", topic)
            return
        # paho queues the packet and retransmits it until the broker's PUBACK.
        info = client._client.publish(topic, payload, qos=1)  # noqa: SLF001 (no await needed)
        if info.rc != 0:
            log.warning("MQTT publish on %s failed (rc=%s)", topic, info.rc)

    async def run(self, stop: asyncio.Event, drain: Callable[[], Awaitable[None]]) -> None:
        """Consume until `stop`; then stop taking messages, await `drain` (whose acks
        still go out on this connection), and disconnect."""
        delays = backoff_delays()
        url = self._config.mqtt
        while not stop.is_set():
            client = aiomqtt.Client(
                url.host, url.port, username=url.username, password=url.password,
                identifier=self._config.client_id, clean_session=self._config.client_id is None,
                keepalive=30, max_inflight_messages=1000, socket_options=NO_DELAY,
            )
            # Before connecting: a persistent session's backlog arrives right after CONNACK.
            client._client.manual_ack_set(True)  # noqa: SLF001 (aiomqtt does not expose it)
            try:
                async with client:
                    await client.subscribe([(f, self._config.subscribe_qos) for f in subscription_filters(self._config)])
                    self._client, self.subscribed = client, True
                    metrics.MQTT_CONNECTED.set(1)
                    log.info("subscribed to %d robot topics on %s%s", len(ROUTES), url.redacted,
                             f" (shared group {self._config.shared_group})" if self._config.shared_group else "")
                    delays = backoff_delays()
                    await self._consume(client, stop)
                    await self._stop_taking(client)
                    await drain()
                    return
            except aiomqtt.MqttError as exc:
                if stop.is_set():
                    await drain()
                    return
                delay = next(delays)
                log.warning("MQTT broker at %s unreachable or lost (%s); retrying in %.1fs",
                            url.redacted, exc, delay)
                await _sleep_unless(stop, delay)
            finally:
                self._client, self.subscribed = None, False
                metrics.MQTT_CONNECTED.set(0)
        await drain()

    async def _consume(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        reader = asyncio.create_task(self._read(client))
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({reader, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if reader in done:
            stopping.cancel()
            reader.result()  # raises the MqttError that ended it
            return
        reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            pass

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._dispatch(client, message)

    def _dispatch(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        ack = _acker(client, message) if message.qos > 0 else None
        payload = message.payload if isinstance(message.payload, bytes) else bytes(message.payload or b"")
        self._handle(message.topic.value, payload, ack)

    async def _stop_taking(self, client: aiomqtt.Client) -> None:
        """Stop the flow, then handle what already arrived: nothing received is left behind.

        A clean session unsubscribes (the broker stops sending). A persistent one stays
        subscribed, so the broker keeps queueing for it while ingest is away; QoS 1
        messages arriving from here on are never acknowledged and come back next time.
        """
        if self._config.client_id is None:
            try:
                await client.unsubscribe(subscription_filters(self._config), timeout=5)
            except aiomqtt.MqttError as exc:
                log.warning("could not unsubscribe while stopping (%s)", exc)
            quiet_for = 0.1  # until the broker has nothing more in the pipe
        else:
            quiet_for = 0.0
        backlog = 0
        messages = aiter(client.messages)
        while True:
            if quiet_for == 0.0 and len(client.messages) == 0:
                break
            try:
                message = await asyncio.wait_for(anext(messages), quiet_for or None)
            except (asyncio.TimeoutError, aiomqtt.MqttError, StopAsyncIteration):
                break
            self._dispatch(client, message)
            backlog += 1
        log.info("stopped taking MQTT messages (%d already received were handled)", backlog)


def _acker(client: aiomqtt.Client, message: aiomqtt.Message) -> Callback:
    paho = client._client  # noqa: SLF001
    mid, qos = message.mid, message.qos

    def ack() -> None:
        if paho.is_connected():  # a PUBACK belongs to the connection that got the message
            paho.ack(mid, qos)
    return ack


async def _sleep_unless(stop: asyncio.Event, delay: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except asyncio.TimeoutError:
        pass
