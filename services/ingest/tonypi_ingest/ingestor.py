"""What happens to each MQTT message: admit it, then hand the event (or the dead letter
and its `ingest_rejected` event) to the forwarder, and act once JetStream acked it:
acknowledge the MQTT message and, for a scan, answer the robot."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from tonypi_events import Subjects, encode, headers_for, utc_now
from tonypi_events.bounds import safe_text
from tonypi_events.codec import MSG_ID_HEADER
from tonypi_events.topics import ITEM_REPLY_PATTERN
from tonypi_runtime.logs import Throttled

from . import metrics
from .admission import LENIENT, Accepted, IdentityPolicy, Rejected, admit, rejection_event
from .catalogue import ItemCatalogue
from .forwarder import JetStreamForwarder, Outgoing

Callback = Callable[[], None]
ReplySender = Callable[[str, bytes], None]  # (full MQTT topic, payload)
log = logging.getLogger("tonypi_ingest")

# Dead letters keep the raw bytes; a giant message keeps its head (NATS caps message size).
DEAD_LETTER_MAX_BYTES = 256 * 1024


def _header_value(text: str, limit: int = 1000) -> str:
    # NATS headers are lines: a CR or LF in a topic or detail would break the frame.
    return safe_text(text, limit).encode("ascii", "backslashreplace").decode("ascii")


def _all_of(count: int, action: Callback | None) -> Callback | None:
    """A callback that runs `action` once it has itself been called `count` times."""
    if action is None:
        return None
    remaining = [count]

    def one() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            action()

    return one


class Ingestor:
    def __init__(
        self,
        forwarder: JetStreamForwarder,
        subjects: Subjects,
        catalogue: ItemCatalogue,
        topic_prefix: str,
        send_reply: ReplySender,
        identity: IdentityPolicy = LENIENT,
    ) -> None:
        self._forwarder, self._subjects, self._catalogue = forwarder, subjects, catalogue
        self._prefix, self._send_reply, self._identity = topic_prefix, send_reply, identity
        self._throttled = Throttled(log)

    def handle(self, topic: str, raw: bytes, ack: Callback | None = None) -> None:
        """One MQTT message. `ack` (QoS 1) runs once its events are safely in JetStream."""
        received, received_at = time.monotonic(), utc_now()
        verdict = admit(topic, raw, received_at, self._prefix, self._identity)
        if isinstance(verdict, Accepted):
            self._accept(verdict, received, ack)
        else:
            self._reject(verdict, topic, raw, received, received_at, ack)

    def _accept(self, accepted: Accepted, received: float, ack: Callback | None) -> None:
        event = accepted.event
        kind = event.event_type.value
        metrics.RECEIVED_BY_KIND[kind].inc()
        on_acked = ack
        if accepted.scanned_qr is not None:
            reply = self._reply_action(event.robot_id, accepted.scanned_qr)
            on_acked = reply if ack is None else (lambda: (reply(), ack()))
        outgoing = Outgoing(
            self._subjects.event(event.robot_id, event.event_type),
            encode(event),
            headers_for(event),
            kind,
            received,
            on_acked,
        )
        if not self._forwarder.offer(outgoing) and ack is not None:
            ack()  # counted as dropped; holding the PUBACK would only jam the broker's window

    def _reply_action(self, robot_id: str, qr: str) -> Callback:
        def reply() -> None:
            answer = self._catalogue.reply(robot_id, qr)
            metrics.SCAN_REPLIES.labels(str(answer["found"]).lower()).inc()
            self._send_reply(
                self._prefix + ITEM_REPLY_PATTERN.format(robot_id=robot_id), json.dumps(answer).encode()
            )

        return reply

    def _reject(
        self, rejection: Rejected, topic: str, raw: bytes, received: float, received_at, ack: Callback | None
    ) -> None:
        kind = rejection.event_type.value if rejection.event_type else "unknown"
        metrics.RECEIVED_BY_KIND[kind].inc()
        metrics.REJECTED_BY_REASON[rejection.reason.value].inc()
        self._throttled.warning(
            f"reject-{rejection.reason.value}",
            "rejected a message on %s: %s (%s)",
            topic,
            rejection.reason.value,
            rejection.detail,
        )
        dead_letter_subject = self._subjects.dead_letter(rejection.reason.value)
        event = rejection_event(rejection, topic, raw, received_at, dead_letter_subject)
        headers = {
            MSG_ID_HEADER: event.event_id,
            "Tonypi-Topic": _header_value(topic),
            "Tonypi-Reason": rejection.reason.value,
            "Tonypi-Detail": _header_value(rejection.detail),
            "Tonypi-Size": str(len(raw)),
            "Tonypi-Received-At": received_at.isoformat(),
        }
        dead_letter = Outgoing(
            dead_letter_subject, raw[:DEAD_LETTER_MAX_BYTES], headers, "dead_letter", received
        )
        notice = Outgoing(
            self._subjects.event(event.robot_id, event.event_type),
            encode(event),
            headers_for(event),
            event.event_type.value,
            received,
        )
        dead_letter.on_acked = notice.on_acked = _all_of(2, ack)
        if not self._forwarder.offer(dead_letter, notice) and ack is not None:
            ack()
