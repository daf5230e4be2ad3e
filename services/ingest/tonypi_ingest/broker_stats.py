"""What the MQTT broker says it dropped. Mosquitto drops QoS 1 messages too when a
subscriber's queue (`max_queued_messages`, 1000 by default) is full, and says so only in
its own log and in `$SYS/broker/publish/messages/dropped` (a running total, published
retained every `sys_interval` seconds when it changed). Ingest reads that topic and makes a
drop visible: a gauge, a counter of increases, and an ERROR line, all named broker-wide: the
total counts every client's drops (Mosquitto has no per-client count) (docs/ingest.md,
"Broker-side drops")."""

from __future__ import annotations

import logging

from . import metrics

DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"
log = logging.getLogger("tonypi_ingest.mqtt")


class BrokerDrops:
    def __init__(self) -> None:
        self._last: int | None = None

    def observe(self, topic: str, payload: bytes, retained: bool) -> None:
        """`retained`: the value the broker kept from before ingest subscribed (a baseline);
        a live value is news, also the first one (the broker publishes on change only)."""
        if topic != DROPPED_TOPIC:
            return
        try:
            value = int(payload.strip())
        except ValueError:
            return
        metrics.BROKER_DROPPED.set(value)
        last, self._last = self._last, value
        if last is None and retained:
            if value:
                log.warning(
                    "the MQTT broker reports %d messages dropped since it started (any client's)", value
                )
            return
        last = last or 0
        new = value - last if value >= last else value  # smaller: the broker restarted
        if new > 0:
            metrics.BROKER_DROPPED_SEEN.inc(new)
            log.error(
                "the MQTT broker dropped %d messages (%d since it started), broker-wide: some "
                "client's queue overflowed, ingest's or another's (the broker's log names it); "
                "see docs/ingest.md, 'Broker-side drops'",
                new,
                value,
            )
