"""What happens to each MQTT message: admit it, then hand the event (or the dead letter
and its `ingest_rejected` event) to the forwarder, and act once JetStream acked it:
acknowledge the MQTT message and, for a scan, answer the robot.

Every message ends in exactly one `Outcome` and is acknowledged exactly once, whatever
happens on the way: an exception anywhere becomes an `unprocessable` dead letter, and if
even that fails the message is dropped, counted and logged (never left unacknowledged)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tonypi_events import EventType, Subjects, encode, headers_for, utc_now
from tonypi_events.bounds import MAX_EVENT_BYTES, safe_text
from tonypi_events.codec import MSG_ID_HEADER
from tonypi_events.rejections import RejectReason
from tonypi_events.topics import ITEM_REPLY_PATTERN, publish_topic_problem
from tonypi_runtime.logs import Throttled

from . import metrics
from .admission import LENIENT, Accepted, IdentityPolicy, Rejected, admit, rejection_event
from .catalogue import ItemCatalogue
from .forwarder import JetStreamForwarder, Outgoing
from .settlement import Callback, Outcome, Settlement
from .status_view import PRESENCE_HEADER, presence_header

ReplySender = Callable[[str, bytes], None]  # (full MQTT topic, payload)
log = logging.getLogger("tonypi_ingest")

# Dead letters keep the raw bytes; a giant message keeps its head (NATS caps message size).
DEAD_LETTER_MAX_BYTES = 256 * 1024
HEADER_VALUE_CHARS = 1000


def _header_value(text: str) -> str:
    # NATS headers are ASCII lines: control characters escaped, the rest too, and cut short.
    return safe_text(text, HEADER_VALUE_CHARS).encode("ascii", "backslashreplace").decode("ascii")


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    raw: bytes
    received: float  # monotonic
    received_at: datetime


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

    def handle(self, topic: str, raw: bytes, ack: Callback | None = None, retained: bool = False) -> None:
        """One MQTT message. `ack` (QoS 1) runs once, when its outcome is final."""
        settlement = Settlement(ack)
        try:
            if retained:
                self._skip_retained(topic, settlement)
                return
            message = Message(topic, raw, time.monotonic(), utc_now())
            verdict = admit(topic, raw, message.received_at, self._prefix, self._identity)
            if isinstance(verdict, Accepted):
                self._accept(verdict, message, settlement, ack)
            else:
                self._reject(verdict, message, settlement)
        except Exception as exc:
            self._failed(topic, raw, exc, settlement)

    def _skip_retained(self, topic: str, settlement: Settlement) -> None:
        metrics.RECEIVED_BY_KIND["retained"].inc()
        metrics.RETAINED_SKIPPED.inc()
        self._throttled.log(
            logging.INFO,
            "retained",
            "skipped a retained message on %s (not a new one)",
            safe_text(topic, 200),
        )
        settlement.settle(Outcome.SKIPPED_RETAINED)

    def _accept(self, accepted: Accepted, message: Message, settlement: Settlement, ack) -> None:
        event = accepted.event
        data = encode(event)
        if len(data) > MAX_EVENT_BYTES:
            detail = f"the event would be {len(data)} bytes; the stream takes {MAX_EVENT_BYTES}"
            too_large = Rejected(RejectReason.TOO_LARGE, detail, event.event_type, event.robot_id)
            self._reject(too_large, message, settlement)
            return
        kind = event.event_type.value
        metrics.RECEIVED_BY_KIND[kind].inc()
        if accepted.scanned_qr is not None:
            settlement = Settlement(ack, then=self._reply_action(event.robot_id, accepted.scanned_qr))
        headers = headers_for(event)
        if event.event_type is EventType.STATUS:  # presence reads it instead of the event
            headers[PRESENCE_HEADER] = presence_header(event)
        outgoing = Outgoing(
            self._subjects.event(event.robot_id, event.event_type),
            data,
            headers,
            kind,
            message.received,
            settlement.parts(1, Outcome.STORED),
        )
        if not self._forwarder.offer(outgoing):
            settlement.settle(Outcome.DROPPED_BUFFER_FULL)  # holding the PUBACK would jam the window

    def _reply_action(self, robot_id: str, qr: str) -> Callback:
        def reply() -> None:
            topic = self._prefix + ITEM_REPLY_PATTERN.format(robot_id=robot_id)
            problem = publish_topic_problem(topic)
            if problem is not None:  # the robot-id rule makes this unreachable; a prefix could not
                metrics.REPLIES_REFUSED.inc()
                self._throttled.error("reply-topic", "scan reply not sent: %s", safe_text(problem))
                return
            answer = self._catalogue.reply(robot_id, qr)
            metrics.SCAN_REPLIES.labels(str(answer["found"]).lower()).inc()
            self._send_reply(topic, json.dumps(answer).encode())

        return reply

    def _reject(self, rejection: Rejected, message: Message, settlement: Settlement) -> None:
        topic, raw = message.topic, message.raw
        kind = rejection.event_type.value if rejection.event_type else "unknown"
        metrics.RECEIVED_BY_KIND[kind].inc()
        metrics.REJECTED_BY_REASON[rejection.reason.value].inc()
        self._throttled.warning(
            f"reject-{rejection.reason.value}",
            "rejected a message on %s: %s (%s)",
            safe_text(topic, 200),
            rejection.reason.value,
            safe_text(rejection.detail, 500),
        )
        dead_letter_subject = self._subjects.dead_letter(rejection.reason.value)
        event = rejection_event(rejection, topic, raw, message.received_at, dead_letter_subject)
        headers = {
            MSG_ID_HEADER: event.event_id,
            "Tonypi-Topic": _header_value(topic),
            "Tonypi-Reason": rejection.reason.value,
            "Tonypi-Detail": _header_value(rejection.detail),
            "Tonypi-Size": str(len(raw)),
            "Tonypi-Received-At": message.received_at.isoformat(),
        }
        done = settlement.parts(2, Outcome.DEAD_LETTERED)
        dead_letter = Outgoing(
            dead_letter_subject, raw[:DEAD_LETTER_MAX_BYTES], headers, "dead_letter", message.received, done
        )
        notice = Outgoing(
            self._subjects.event(event.robot_id, event.event_type),
            encode(event),
            headers_for(event),
            event.event_type.value,
            message.received,
            done,
        )
        if not self._forwarder.offer(dead_letter, notice):
            settlement.settle(Outcome.DROPPED_BUFFER_FULL)

    def _failed(self, topic: str, raw: bytes, error: Exception, settlement: Settlement) -> None:
        """A bug met this message: dead-letter it as `unprocessable`, or at least drop it
        counted; either way it is acknowledged."""
        self._throttled.error(
            "unprocessable",
            "could not process a message on %s (%s: %s); dead-lettering it",
            safe_text(topic, 200),
            type(error).__name__,
            safe_text(str(error), 500),
        )
        if settlement.settled is not None:
            return
        try:
            detail = f"ingest failed on this message: {type(error).__name__}: {error}"
            rejection = Rejected(RejectReason.UNPROCESSABLE, safe_text(detail, 500))
            self._reject(rejection, Message(topic, raw, time.monotonic(), utc_now()), settlement)
        except Exception:
            log.exception("could not dead-letter an unprocessable message on %s", safe_text(topic, 200))
            settlement.settle(Outcome.DROPPED_ERROR)
