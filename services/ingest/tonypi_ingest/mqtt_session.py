"""How ingest's MQTT connection is made: protocol, acknowledgement window, subscriptions.

MQTT 5 first: its Receive Maximum lets ingest set how many QoS 1 messages it may hold
unacknowledged (it acknowledges only after JetStream stored them), whatever the broker's
`max_inflight_messages` (Mosquitto's default 20 caps QoS 1 near 4k msg/s and, once its
queue of 1000 overflows, drops messages). Brokers that only speak 3.1.1 (amqtt, the
embedded broker of `tonypi up`) get 3.1.1, and the broker's window.
"""

from __future__ import annotations

import logging
import socket

from paho.mqtt.subscribeoptions import SubscribeOptions

from .mqtt_port import V5, V311, MqttVersion

log = logging.getLogger("tonypi_ingest.mqtt")
__all__ = ["NO_DELAY", "V5", "V311", "ProtocolChoice", "subscriptions"]

# paho leaves Nagle on: two small writes in a row (a PUBACK after a PUBACK) then wait for the
# broker's delayed TCP ACK, ~40 ms each time. That alone holds QoS 1 to tens of messages a second.
NO_DELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class ProtocolChoice:
    """MQTT 5 until a broker refuses it; then 3.1.1. Once one connects, it sticks.
    MQTT_PROTOCOL=5 or 3.1.1 fixes the choice (3.1.1 saves paho's per-message cost of
    MQTT 5 properties, worth it when the broker's max_inflight_messages is large)."""

    def __init__(self, setting: str = "auto") -> None:
        self.current = V311 if setting == "3.1.1" else V5
        self._settled = setting != "auto"

    def connected(self) -> None:
        if not self._settled and self.current is V311:
            log.warning(
                "the MQTT broker does not speak MQTT 5: using 3.1.1, so the broker's "
                "max_inflight_messages bounds how many QoS 1 messages ingest may hold unacknowledged"
            )
        self._settled = True

    def failed(self) -> None:
        if not self._settled:  # unreachable, or refusing v5: the next attempt tries the other
            self.current = V311 if self.current is V5 else V5


def subscriptions(filters: list[str], qos: int, protocol: MqttVersion) -> list[tuple]:
    """Robot topics. MQTT 5: retain handling 2, so the broker sends no retained message on
    subscribe (a retained status or scan is an old message, not a new one). MQTT 3.1.1 has
    no such option: a delivery flagged retained is counted and skipped (Ingestor)."""
    if protocol is V5:
        return [
            (f, SubscribeOptions(qos=qos, retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND))
            for f in filters
        ]
    return [(f, qos) for f in filters]
