"""The MQTT adapter: one paho client per connection, driven by the asyncio event loop
through paho's public API (its socket callbacks, `loop_read`, `loop_write`, `loop_misc`)
and acknowledging by hand (`manual_ack=True`, `Client.ack`). It implements `mqtt_port`.

- QoS 1 messages are acknowledged only when `ack` says so (ingest: once their outcome is
  settled), on the connection that received them.
- A PUBACK with a failure reason code (MQTT 5, e.g. 0x87 when the broker's ACL refuses the
  topic) fails the `publish` that waits for it (mqtt_puback.py).
- The socket is driven from the event loop (paho_loop.py) and read ahead of the handling:
  what it brings waits in the inbox (inbox.py), yielded by `messages()` in slices.
- paho's blocking `connect` (DNS, TCP) runs in a thread; every other call runs on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from paho.mqtt.client import (
    MQTT_CLEAN_START_FIRST_ONLY,
    CallbackAPIVersion,
    Client,
    MQTTErrorCode,
    MQTTProtocolVersion,
)
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from .config import IngestConfig
from .inbox import Inbox
from .mqtt_port import UNREADABLE_TOPIC, V5, V311, Connect, MqttError, MqttVersion, Received
from .mqtt_puback import Pubacks
from .mqtt_session import NO_DELAY, subscriptions
from .paho_loop import SocketDriver

log = logging.getLogger("tonypi_ingest.mqtt")
SUCCESS = MQTTErrorCode.MQTT_ERR_SUCCESS
KEEPALIVE_S = 30
TIMEOUT_S = 5.0  # CONNACK, SUBACK, UNSUBACK, the DISCONNECT going out
PAHO_VERSION = {V5: MQTTProtocolVersion.MQTTv5, V311: MQTTProtocolVersion.MQTTv311}
MAX_INFLIGHT = 1000  # QoS 1 publishes (replies, commands) awaiting the broker's PUBACK


def paho_connector(config: IngestConfig) -> Connect:
    """The production `Connect`: a new paho client for each connection."""

    @asynccontextmanager
    async def connect(protocol: MqttVersion) -> AsyncIterator[PahoConnection]:
        connection = PahoConnection(config, protocol)
        try:
            await connection.open()
            yield connection
        finally:
            await connection.close()

    return connect


class _Ticket:
    """Which connection received a message and under which packet id; acknowledged once
    (a PUBACK sent twice could acknowledge a later message that reused the packet id)."""

    __slots__ = ("connection", "done", "mid")

    def __init__(self, connection: PahoConnection, mid: int) -> None:
        self.connection, self.mid, self.done = connection, mid, False


class PahoConnection:
    def __init__(self, config: IngestConfig, protocol: MqttVersion) -> None:
        self._config, self._protocol = config, protocol
        self._persistent = config.client_id is not None
        self._loop = asyncio.get_running_loop()
        paho = self._paho = Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id or "",
            clean_session=None if protocol is V5 else not self._persistent,
            protocol=PAHO_VERSION[protocol],
            reconnect_on_failure=False,
            manual_ack=True,
        )
        url = config.mqtt
        if url.username is not None:
            paho.username_pw_set(url.username, url.password)
        paho.max_inflight_messages_set(MAX_INFLIGHT)
        paho.on_connect = self._on_connect
        paho.on_disconnect = self._on_disconnect
        paho.on_message = self._on_message
        paho.on_subscribe = self._on_subscribe
        paho.on_unsubscribe = self._on_unsubscribe
        paho.on_publish = self._on_publish
        self.held = 0
        self._arrived = 0  # messages read off the socket, taken or not
        self._taking = True
        self._inbox: Inbox[Received] = Inbox()
        self._connack: asyncio.Future[None] = self._loop.create_future()
        self._gone: asyncio.Future[None] = self._loop.create_future()
        self._subacks: dict[int, asyncio.Future] = {}
        self._unsubacks: dict[int, asyncio.Future] = {}
        self._pubacks = Pubacks(self._loop)
        self._socket = SocketDriver(paho, lambda: self._arrived, self._broken)

    # --- the port --------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        return len(self._inbox)

    @property
    def lost(self) -> bool:
        return self._gone.done()

    async def wait_lost(self) -> None:
        await asyncio.shield(self._gone)

    async def subscribe(self, filters: Sequence[str], qos: int, *, skip_retained: bool = False) -> list[bool]:
        subs = (
            subscriptions(list(filters), qos, self._protocol)
            if skip_retained
            else [(f, qos) for f in filters]
        )
        rc, mid = self._paho.subscribe(subs)
        if rc != SUCCESS or mid is None:
            raise MqttError(f"subscribe not sent (rc={rc})")
        codes = await self._answer(self._subacks, mid, "SUBACK")
        return [getattr(code, "value", code) < 0x80 for code in codes]

    async def unsubscribe(self, filters: Sequence[str]) -> None:
        rc, mid = self._paho.unsubscribe(list(filters))
        if rc != SUCCESS or mid is None:
            raise MqttError(f"unsubscribe not sent (rc={rc})")
        await self._answer(self._unsubacks, mid, "UNSUBACK")

    def stop_taking(self) -> None:
        self._taking = False
        self._inbox.close()

    def messages(self) -> AsyncIterator[Received]:
        return self._inbox.items()

    def ack(self, message: Received) -> bool:
        ticket = message.ticket
        if (
            message.qos == 0
            or not isinstance(ticket, _Ticket)
            or ticket.connection is not self
            or ticket.done
        ):
            return False
        ticket.done = True
        self.held -= 1
        if not self._paho.is_connected():  # a PUBACK belongs to the connection that got the message
            return False
        return self._paho.ack(ticket.mid, message.qos) == SUCCESS

    async def publish(self, topic: str, payload: bytes, timeout: float = 10.0) -> None:
        mid = self._publish(topic, payload)
        if mid is not None:
            self._pubacks.sent(mid, topic)
            await self._pubacks.wait(mid, timeout)  # raises PublishRefused on a failure code

    def send(self, topic: str, payload: bytes) -> None:
        mid = self._publish(topic, payload)  # paho retransmits it until the broker's PUBACK
        if mid is not None:
            self._pubacks.sent(mid, topic, awaited=False)  # nobody waits: a refusal is counted

    # --- opening and closing -----------------------------------------------------------

    async def open(self) -> None:
        url, options = self._config.mqtt, {}
        if self._protocol is V5:
            properties = Properties(PacketTypes.CONNECT)
            properties.ReceiveMaximum = self._config.receive_maximum
            if self._persistent:
                properties.SessionExpiryInterval = self._config.session_expiry_s
            options = {
                "properties": properties,
                "clean_start": False if self._persistent else MQTT_CLEAN_START_FIRST_ONLY,
            }

        def connect() -> None:  # blocks on DNS and TCP (paho's own 5 s connect timeout)
            self._paho.connect(url.host, url.port, KEEPALIVE_S, **options)

        try:
            await self._loop.run_in_executor(None, connect)
        except (OSError, ValueError) as exc:
            raise MqttError(str(exc) or type(exc).__name__) from None
        sock = self._paho.socket()
        if isinstance(sock, socket.socket):
            for option in NO_DELAY:
                sock.setsockopt(*option)
        try:
            await asyncio.wait_for(asyncio.shield(self._connack), TIMEOUT_S)
        except TimeoutError:
            self._connack.cancel()
            raise MqttError("no CONNACK from the broker in time") from None

    async def close(self) -> None:
        """Disconnect (DISCONNECT sent, socket closed); what was taken is still yielded."""
        self._inbox.close()
        if not self._connack.done():  # the connect itself failed: nobody waits for a CONNACK
            self._connack.cancel()
        if self._paho.is_connected() and self._paho.disconnect() == SUCCESS:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._gone), TIMEOUT_S)
        self._lose(MqttError("disconnected"))
        self._socket.stop()
        sock = self._paho.socket()  # still open: never connected, or broke under paho
        if sock is not None:
            sock.close()

    # --- paho's callbacks ------------------------------------------------------------------

    def _on_connect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if self._connack.done():
            return
        if reason_code.is_failure:
            self._connack.set_exception(MqttError(f"the broker refused the connection: {reason_code}"))
        else:
            self._connack.set_result(None)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._lose(MqttError(f"connection lost: {reason_code}"))

    def _on_message(self, _client, _userdata, message) -> None:
        self._arrived += 1
        if not self._taking:  # left unacknowledged: a persistent session gets it again
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = UNREADABLE_TOPIC
        qos = message.qos
        if qos > 0:
            self.held += 1
        self._inbox.put(
            Received(topic, message.payload, qos, bool(message.retain), _Ticket(self, message.mid))
        )

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _properties) -> None:
        _resolve(self._subacks, mid, reason_codes)

    def _on_unsubscribe(self, _client, _userdata, mid, _reason_codes, _properties) -> None:
        _resolve(self._unsubacks, mid, None)

    def _on_publish(self, _client, _userdata, mid, reason_code, properties) -> None:
        self._pubacks.answered(mid, reason_code, properties)

    # --- helpers ---------------------------------------------------------------------------

    def _publish(self, topic: str, payload: bytes) -> int | None:
        if self.lost or not self._paho.is_connected():
            raise MqttError("MQTT disconnected")
        try:
            info = self._paho.publish(topic, payload, qos=1)
        except (ValueError, TypeError) as exc:
            raise MqttError(f"publish refused: {exc}") from None
        if info.rc != SUCCESS:
            raise MqttError(f"publish failed (rc={info.rc})")
        return None if info.is_published() else info.mid

    async def _answer(self, table: dict[int, asyncio.Future], mid: int, what: str):
        if self.lost:
            raise MqttError("MQTT disconnected")
        future = table[mid] = self._loop.create_future()
        try:
            return await asyncio.wait_for(future, TIMEOUT_S)
        except TimeoutError:
            raise MqttError(f"no {what} from the broker within {TIMEOUT_S:g}s") from None
        finally:
            table.pop(mid, None)

    def _broken(self, exc: Exception) -> None:
        self._lose(MqttError(f"the socket broke: {exc}"))

    def _lose(self, error: MqttError) -> None:
        """The connection is gone: what was taken is still yielded; whoever waits is told."""
        self._inbox.close()
        if not self._connack.done():
            self._connack.set_exception(error)
        if not self._gone.done():
            self._gone.set_result(None)
        self._pubacks.lose(error)
        for table in (self._subacks, self._unsubacks):
            for future in table.values():
                if not future.done():
                    future.set_exception(error)
            table.clear()


def _resolve(table: dict[int, asyncio.Future], mid: int, value) -> None:
    future = table.pop(mid, None)
    if future is not None and not future.done():
        future.set_result(value)
