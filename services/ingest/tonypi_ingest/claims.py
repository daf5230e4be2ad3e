"""The claim (docs/commands.md): before a command goes to a robot, ingest appends its
`command_sent` event with `Nats-Msg-Id: <msg id>`. JetStream answering "duplicate" means
another replica (or an earlier attempt) claimed it already, so it is not sent again.
Deadlines stay inside the stream's duplicate window, so a claim is always remembered."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from tonypi_events import CURRENT_VERSION, EventEnvelope, EventType, StreamNames, encode, kinds, utc_now
from tonypi_events.codec import MSG_ID_HEADER

from . import metrics

log = logging.getLogger("tonypi_ingest.commands")
Publish = Callable[[str, bytes], Awaitable[None]]  # MQTT QoS 1, returns at the broker's PUBACK

SENT_SOURCE = "ingest"  # the `source` of command_sent events
CLAIM_TIMEOUT_S = 5.0


class JetStream(Protocol):
    async def publish(self, subject: str, payload: bytes, timeout: float, stream: str, headers: dict): ...


class Claims:
    def __init__(self, js: JetStream, streams: StreamNames) -> None:
        self._js, self._streams = js, streams

    async def claim(
        self, robot_id: str, command_id: str, topic: str, msg_id: str, to_robot: str | None = None
    ) -> bool:
        """Append command_sent; False if JetStream already holds it (someone else sent it)."""
        payload = kinds.CommandSentV1(
            robot_id=robot_id,
            command_id=command_id,
            topic=topic,
            resend=to_robot is not None,
            to_robot=to_robot,
        )
        event = EventEnvelope(
            event_id=msg_id,
            event_type=EventType.COMMAND_SENT,
            schema_version=CURRENT_VERSION[EventType.COMMAND_SENT],
            robot_id=robot_id,
            received_at=utc_now(),
            source=SENT_SOURCE,
            payload=payload.model_dump(mode="json", exclude_none=True),
        )
        ack = await self._js.publish(
            self._streams.subjects.event(robot_id, EventType.COMMAND_SENT),
            encode(event),
            timeout=CLAIM_TIMEOUT_S,
            stream=self._streams.events,
            headers={MSG_ID_HEADER: msg_id},
        )
        return not ack.duplicate


async def send_claimed(publish: Publish, topic: str, body: bytes, command_id: str) -> bool:
    """Publish a claimed command to its robot (QoS 1, until the broker's PUBACK). A publish
    that fails, or that the broker refuses (an MQTT 5 PUBACK reason code of 0x80 or more, e.g.
    0x87 when its ACL denies the topic: `PublishRefused`), is counted `lost` and logged with
    its reason: claimed, it is never sent again, and times out visibly (the price of claiming
    first)."""
    try:
        await publish(topic, body)
    except Exception as exc:
        metrics.COMMANDS.labels("lost").inc()
        log.error("command %s claimed but the MQTT publish failed (%s): it will time out", command_id, exc)
        return False
    metrics.COMMANDS.labels("sent").inc()
    return True
