"""Handing operator commands to the robots (docs/commands.md): ingest holds the MQTT connection.

All ingest replicas pull from one durable JetStream consumer per kind (command_consumers.py),
so each request goes to one replica. For each, `deliver` decides:

1. skip it (ack) when its deadline has passed, or it expired (robot offline, no wait);
   hold it (nak with a delay) while a `wait` command's robot is offline or MQTT is down;
2. **claim** it (claims.py): append `command_sent` with `Nats-Msg-Id: sent-<command id>`;
   if JetStream says duplicate, another replica (or an earlier attempt) claimed it: ack, stop;
3. publish what the robot is sent (robot_messages.py) at QoS 1 and wait for the broker's
   PUBACK (one refusing it, MQTT 5, fails the send: counted `lost`, claims.py); then ack.

The claim comes first, so the robot never gets a command twice, whatever crashes or is
redelivered (deadlines stay inside the stream's duplicate window, so the claim is always
remembered). The price, stated honestly: a replica that dies between its claim and the
PUBACK leaves the command `sent` without the robot having it; no answer comes and it ends
`timed_out`, which the operator sees. A latched stop a robot forgot is sent again (resend.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from nats.aio.client import Client as NatsClient
from tonypi_events import EventType, StreamNames, decode, decode_payload, kinds, utc_now
from tonypi_runtime.logs import Throttled

from . import metrics
from .authority import refused
from .claims import Claims, Publish, send_claimed
from .command_consumers import HOLD_S, pull
from .presence import Presence
from .resend import LatchResender
from .robot_messages import command_messages

log = logging.getLogger("tonypi_ingest.commands")


class CommandDeliverer:
    def __init__(
        self,
        streams: StreamNames,
        topic_prefix: str,
        publish: Publish,
        mqtt_ready: Callable[[], bool],
        consumer_prefix: str,
        online_timeout_s: float = 90.0,
    ) -> None:
        self._streams, self._prefix, self._publish, self._mqtt_ready = (
            streams,
            topic_prefix,
            publish,
            mqtt_ready,
        )
        self._consumer_prefix = consumer_prefix
        self._throttled = Throttled(log)
        self._claims: Claims | None = None
        self._resender = LatchResender(
            topic_prefix, publish, mqtt_ready, lambda: self._claims, self._throttled
        )
        self.presence = Presence(streams, online_timeout_s, self._resender.later)

    def bind(self, nc: NatsClient) -> None:
        """Claim through this NATS client (a replaced client is bound again by `run`)."""
        self._claims = Claims(nc.jetstream(), self._streams)

    async def run(self, nc: NatsClient) -> None:
        self.bind(nc)
        await self.presence.start(nc)
        js = nc.jetstream()
        try:
            await asyncio.gather(
                *(
                    pull(js, self._streams, self._consumer_prefix, kind, self.deliver, self._throttled)
                    for kind in (EventType.COMMAND_REQUESTED, EventType.EMERGENCY_STOP)
                )
            )
        finally:
            await self.presence.stop()

    async def _unreadable(self, msg, exc: Exception) -> None:
        """Counted, logged at most once a minute (whoever may write a command subject could
        otherwise fill the log), acknowledged: never delivered."""
        metrics.COMMANDS.labels("unreadable").inc()
        self._throttled.error(
            "unreadable", "unreadable command event at %s (%s): not delivered", msg.subject, exc
        )
        await msg.ack()

    async def deliver(self, msg) -> None:
        """One pulled request: skipped, held, or claimed and sent; acked or naked here."""
        # The subject first (it is the authority): a forgery is counted as one whatever its payload.
        try:
            event = decode(msg.data)
        except Exception as exc:
            await self._unreadable(msg, exc)
            return
        if refused("deliverer", msg.subject, event, self._streams.subjects):
            await msg.ack()  # never sent: a command's subject names who asked for it
            return
        try:
            payload = decode_payload(event)
        except Exception as exc:
            await self._unreadable(msg, exc)
            return
        deadline = event.received_at + timedelta(seconds=float(payload.timeout_s))
        if utc_now() >= deadline:
            metrics.COMMANDS.labels("too_late").inc()
            log.warning("command %s reached no deliverer before its deadline: not sent", payload.command_id)
            await msg.ack()
            return
        if isinstance(payload, kinds.CommandRequestedV1) and payload.robot_online is False:
            if not payload.wait:
                metrics.COMMANDS.labels("expired").inc()
                await msg.ack()
                return
            if not self.presence.online(event.robot_id):
                await msg.nak(delay=HOLD_S)  # held until the robot is back (or the deadline)
                return
        if not self._mqtt_ready() or self._claims is None:
            await msg.nak(delay=HOLD_S)
            return
        messages = command_messages(self._prefix, event, payload)
        if not messages:  # no robot it went to takes it (a resume for gen 1 robots only)
            metrics.COMMANDS.labels("nothing_to_send").inc()
            await msg.ack()
            return
        topics = ", ".join(topic for topic, _ in messages)[:1024]
        command_id = payload.command_id
        if not await self._claims.claim(event.robot_id, command_id, topics, f"sent-{command_id}"):
            metrics.COMMANDS.labels("duplicate").inc()
            await msg.ack()
            return
        for topic, body in messages:
            await send_claimed(self._publish, topic, body, command_id)
        await msg.ack()
