"""Ingest's MQTT port: what ingest needs of one MQTT connection, and nothing of a client
library. `mqtt_paho.py` is the adapter (paho's public API); the tests' in-memory fake
implements the same contract (tests/ingest/test_mqtt_contract.py runs one test class
against both).

The contract, per connection:
- `subscribe` returns, per filter, whether the broker granted it;
- `messages()` yields every message taken, in arrival order, and ends once the connection
  is lost or `stop_taking()` was called and what was taken before has been yielded;
- `ack(message)` sends a QoS 1 message's PUBACK once, on the connection that received it:
  True when it went out, False for a second call, a QoS 0 message, or a connection that is
  gone (the broker then redelivers it to a persistent session). `held` counts the QoS 1
  messages taken and not acknowledged yet;
- `publish` is QoS 1 and returns at the broker's PUBACK; `send` queues a QoS 1 publish
  and returns at once. Both raise `MqttError` when the connection cannot take it, and
  `publish` raises `PublishRefused` when the PUBACK carries a failure reason code (MQTT 5:
  0x80 and above, e.g. 0x87 Not authorized when the broker's ACL refuses the topic). A
  success-class code (below 0x80, e.g. 0x10 No matching subscribers) means the broker took
  it. Nobody waits for a `send`: a refusal of one is only logged (by the adapter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol


class MqttVersion(Enum):
    V5 = "5"
    V311 = "3.1.1"


V5, V311 = MqttVersion.V5, MqttVersion.V311

# What a topic that is not UTF-8 reads as: MQTT forbids one (Mosquitto refuses it), a lax
# broker may pass it on; it routes nowhere, so admission dead-letters it with its payload.
UNREADABLE_TOPIC = "\ufffd"


class MqttError(Exception):
    """The broker is unreachable, refused, did not answer in time, or the connection is gone."""


class PublishRefused(MqttError):
    """The broker answered a QoS 1 publish with a failure reason code: it did not take the
    message (MQTT 5; under 3.1.1 a broker acknowledges a publish it refuses, or disconnects)."""

    def __init__(self, topic: str, code: int, reason: str) -> None:
        super().__init__(f"the broker refused the publish on {topic}: {reason} (0x{code:02x})")
        self.topic, self.code, self.reason = topic, code, reason


@dataclass(slots=True, eq=False)
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    ticket: object = field(default=None, repr=False)  # the adapter's own handle, for `ack`


class MqttConnection(Protocol):
    held: int  # QoS 1 messages taken and not acknowledged

    @property
    def waiting(self) -> int:
        """Messages taken and not yielded yet."""

    @property
    def lost(self) -> bool: ...

    async def wait_lost(self) -> None:
        """Return once the connection is gone."""

    async def subscribe(self, filters: Sequence[str], qos: int, *, skip_retained: bool = False) -> list[bool]:
        """Subscribe; per filter, True if granted. `skip_retained`: the broker sends no
        retained message on subscribe (MQTT 5; a 3.1.1 broker cannot be told)."""

    async def unsubscribe(self, filters: Sequence[str]) -> None:
        """Return at the broker's UNSUBACK: every message it sent before is taken."""

    def stop_taking(self) -> None:
        """Take nothing more: later deliveries are neither yielded nor acknowledged."""

    def messages(self) -> AsyncIterator[Received]: ...

    def ack(self, message: Received) -> bool: ...

    async def publish(self, topic: str, payload: bytes, timeout: float = 10.0) -> None: ...

    def send(self, topic: str, payload: bytes) -> None: ...


class Connect(Protocol):
    """Opens one connection at the given protocol version; entering it raises `MqttError`
    when the broker is unreachable or refuses; leaving it disconnects."""

    def __call__(self, protocol: MqttVersion) -> AbstractAsyncContextManager[MqttConnection]: ...
