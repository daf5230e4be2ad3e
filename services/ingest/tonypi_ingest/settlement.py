"""One MQTT message's fate: exactly one outcome, counted once, and its QoS 1
acknowledgement sent once, whatever path the message took (docs/ingest.md, "Outcomes")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from . import metrics

Callback = Callable[[], None]
log = logging.getLogger("tonypi_ingest")


class Outcome(StrEnum):
    STORED = "stored"  # its event is in TONYPI_EVENTS
    DEAD_LETTERED = "dead_lettered"  # raw bytes in TONYPI_DEADLETTER, an ingest_rejected event beside them
    SKIPPED_RETAINED = "skipped_retained"  # a retained delivery: an old message, not a new fact
    DROPPED_BUFFER_FULL = "dropped_buffer_full"  # NATS away too long: INGEST_BUFFER_SIZE ran out
    DROPPED_REFUSED = "dropped_refused"  # JetStream refused it for good (400, over max_payload)
    DROPPED_ERROR = "dropped_error"  # ingest failed even to dead-letter it (a bug; logged)


for _outcome in Outcome:  # each series at 0 from the start: an alert sees the first drop
    metrics.OUTCOMES.labels(_outcome.value)


class Settlement:
    """Settle once: the first outcome counts and acknowledges; later calls do nothing.
    `then` (a scan's reply) runs after a STORED outcome, after the acknowledgement."""

    __slots__ = ("_ack", "_then", "settled")

    def __init__(self, ack: Callback | None, then: Callback | None = None) -> None:
        self._ack, self._then = ack, then
        self.settled: Outcome | None = None

    def settle(self, outcome: Outcome) -> None:
        if self.settled is not None:
            return
        self.settled = outcome
        metrics.OUTCOME[outcome.value].inc()
        if self._ack is not None:
            self._ack()
        if outcome is Outcome.STORED and self._then is not None:
            try:
                self._then()
            except Exception:  # a reply that cannot go out costs the reply, not the message
                log.exception("after storing a message: its follow-up failed")

    def parts(self, count: int, success: Outcome) -> Callable[[bool], None]:
        """An `on_done(stored)` for each of `count` publishes: `success` once all are stored,
        DROPPED_REFUSED as soon as one of them is refused."""
        remaining = [count]

        def done(stored: bool) -> None:
            if not stored:
                self.settle(Outcome.DROPPED_REFUSED)
                return
            remaining[0] -= 1
            if remaining[0] == 0:
                self.settle(success)

        return done
