"""Handing operator commands to the robots (docs/commands.md): ingest holds the MQTT connection.

All ingest replicas pull from one durable JetStream consumer per kind (`command_requested`,
`emergency_stop`), so each request goes to one replica. For each:

1. skip it (ack) when its deadline has passed, or it expired (robot offline, no wait);
   hold it (nak with a delay) while a `wait` command's robot is offline or MQTT is down;
2. **claim** it: append `command_sent` with `Nats-Msg-Id: sent-<command id>`; if JetStream
   says duplicate, another replica (or an earlier attempt) claimed it: ack and stop;
3. publish it to the robot at QoS 1 and wait for the broker's PUBACK; then ack.

The claim comes first, so the robot never gets a command twice, whatever crashes or is
redelivered (deadlines stay inside the stream's duplicate window, so the claim is always
remembered). The price, stated honestly: a replica that dies between its claim and the
PUBACK leaves the command `sent` without the robot having it; no answer comes and it ends
`timed_out`, which the operator sees.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import nats.errors
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError
from tonypi_events import (
    CURRENT_VERSION,
    FLEET,
    EventEnvelope,
    EventType,
    StreamNames,
    decode,
    decode_payload,
    encode,
    kinds,
    utc_now,
)
from tonypi_events.codec import MSG_ID_HEADER
from tonypi_events.commanding import Plan
from tonypi_events.topics import BROADCAST, COMMAND_PATTERN, EMERGENCY_STOP_PATTERN
from tonypi_runtime.logs import Throttled

from . import metrics
from .authority import refused
from .presence import Latch, Presence

log = logging.getLogger("tonypi_ingest.commands")

Publish = Callable[[str, bytes], Awaitable[None]]  # MQTT QoS 1, returns at the broker's PUBACK
SENT_SOURCE = "ingest"  # the `source` of command_sent events
ACK_WAIT_S = 30.0
HOLD_S = 1.0  # a held command is looked at again this often
FETCH = 20
# Requests older than this when a consumer is first created are not delivered (deadlines <= 90 s).
START_BACK = timedelta(seconds=120)


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
        self.presence = Presence(streams, online_timeout_s, self._resend_later)
        self._nc: NatsClient | None = None
        self._throttled = Throttled(log)
        self._resends: set[asyncio.Task] = set()

    async def run(self, nc: NatsClient) -> None:
        self._nc = nc
        await self.presence.start(nc)
        try:
            await asyncio.gather(
                self._pull(EventType.COMMAND_REQUESTED), self._pull(EventType.EMERGENCY_STOP)
            )
        finally:
            await self.presence.stop()

    async def _subscription(self, event_type: EventType):
        js = self._nc.jetstream()
        config = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=1000,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=(utc_now() - START_BACK).isoformat().replace("+00:00", "Z"),
        )
        durable = f"{self._consumer_prefix}_{event_type.value}"
        subject = self._streams.subjects.of_type(event_type)
        while True:
            try:
                return await js.pull_subscribe(
                    subject, durable=durable, stream=self._streams.events, config=config
                )
            except APIError as exc:  # another replica created it at the same moment: bind to it
                log.info("consumer %s: %s; binding to the existing one", durable, exc)
                await asyncio.sleep(0.2)

    async def _pull(self, event_type: EventType) -> None:
        sub = await self._subscription(event_type)
        try:
            await self._fetch_forever(sub)
        finally:
            # A fetch cancelled at stop leaves its pull request at the server, whose expiry
            # lands in this subscription with nobody to read it: left subscribed, the
            # connection's drain would wait for it until timing out.
            await _quietly(sub.unsubscribe())

    async def _fetch_forever(self, sub) -> None:
        while True:
            try:
                msgs = await sub.fetch(FETCH, timeout=1.0)
            except TimeoutError:
                continue
            except nats.errors.Error as exc:
                self._throttled.warning("fetch", "fetching commands failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            for msg in msgs:
                try:
                    await self._deliver(msg)
                except Exception as exc:  # one command must not stop the others
                    metrics.COMMANDS.labels("error").inc()
                    self._throttled.error(
                        "deliver", "delivering a command failed (%s: %s)", type(exc).__name__, exc
                    )
                    await _quietly(msg.nak(delay=HOLD_S))

    async def _unreadable(self, msg, exc: Exception) -> None:
        """Counted, logged at most once a minute (whoever may write a command subject could
        otherwise fill the log), acknowledged: never delivered."""
        metrics.COMMANDS.labels("unreadable").inc()
        self._throttled.error(
            "unreadable", "unreadable command event at %s (%s): not delivered", msg.subject, exc
        )
        await msg.ack()

    async def _deliver(self, msg) -> None:
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
        if not self._mqtt_ready():
            await msg.nak(delay=HOLD_S)
            return
        messages = self._messages(event, payload)
        if not messages:  # no robot it went to takes it (a resume for gen 1 robots only)
            metrics.COMMANDS.labels("nothing_to_send").inc()
            await msg.ack()
            return
        topics = ", ".join(topic for topic, _ in messages)[:1024]
        if not await self._claim(event.robot_id, payload.command_id, topics, f"sent-{payload.command_id}"):
            metrics.COMMANDS.labels("duplicate").inc()
            await msg.ack()
            return
        for topic, body in messages:
            await self._send(topic, body, payload.command_id)
        await msg.ack()

    def _messages(self, event: EventEnvelope, payload) -> list[tuple[str, bytes]]:
        """What goes where (docs/commands.md): the plan the query service wrote says, per
        robot, send it, send it its `stop` instead (gen 1 has no emergency stop), or send it
        nothing. A fleet command every robot takes goes once, on the broadcast topic."""
        plan = payload.plan
        fleet = event.robot_id == FLEET
        if plan is None:  # written before plans: the robot, or whoever listens
            plan = {} if fleet else {event.robot_id: Plan.SEND.value}
        send = [r for r, p in sorted(plan.items()) if p == Plan.SEND]
        everyone = payload.plan is None or len(send) == len(plan)
        stop_instead = [r for r, p in sorted(plan.items()) if p == Plan.SEND_STOP]
        command_id = payload.command_id
        if isinstance(payload, kinds.EmergencyStopV1) and payload.engaged:
            body = {"type": "emergency_stop", "reason": payload.reason or "operator", "id": command_id}
            pattern = EMERGENCY_STOP_PATTERN
            # Only gen 2 listens on the stop topic: a fleet stop goes there once, whoever else there is.
            targets = ([BROADCAST] if send or payload.plan is None else []) if fleet else send
        else:
            if isinstance(payload, kinds.EmergencyStopV1):
                body = {"type": "resume", "id": command_id}
            else:
                body = {**payload.params, "type": payload.type, "id": command_id}
            pattern = COMMAND_PATTERN
            targets = [BROADCAST] if fleet and everyone else send
        out = [(self._prefix + pattern.format(robot_id=t), json.dumps(body).encode()) for t in targets]
        stop = json.dumps({"type": "stop", "id": command_id}).encode()
        out += [(self._prefix + COMMAND_PATTERN.format(robot_id=r), stop) for r in stop_instead]
        return out

    async def _claim(
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
        ack = await self._nc.jetstream().publish(
            self._streams.subjects.event(robot_id, EventType.COMMAND_SENT),
            encode(event),
            timeout=5.0,
            stream=self._streams.events,
            headers={MSG_ID_HEADER: msg_id},
        )
        return not ack.duplicate

    async def _send(self, topic: str, body: bytes, command_id: str) -> None:
        try:
            await self._publish(topic, body)
        except Exception as exc:  # claimed but not delivered: it will time out, visibly
            metrics.COMMANDS.labels("lost").inc()
            log.error(
                "command %s claimed but the MQTT publish failed (%s): it will time out", command_id, exc
            )
            return
        metrics.COMMANDS.labels("sent").inc()

    # --- the latched emergency stop, sent again to a robot that forgot it ---------------

    def _resend_later(self, robot_id: str, latch: Latch, status_event_id: str) -> None:
        task = asyncio.create_task(self._resend(robot_id, latch, status_event_id))
        self._resends.add(task)
        task.add_done_callback(self._resends.discard)

    async def _resend(self, robot_id: str, latch: Latch, status_event_id: str) -> None:
        if not self._mqtt_ready():
            return  # the robot's next status tries again
        topic = self._prefix + EMERGENCY_STOP_PATTERN.format(robot_id=robot_id)
        body = json.dumps(
            {"type": "emergency_stop", "reason": latch.reason or "operator", "id": latch.command_id}
        )
        msg_id = f"resend-{latch.command_id}-{status_event_id}"[:200]
        try:
            if not await self._claim(robot_id, latch.command_id, topic, msg_id, to_robot=robot_id):
                return  # another replica followed the same status event
        except (TimeoutError, nats.errors.Error) as exc:
            self._throttled.warning("resend", "could not record the stop resend to %s (%s)", robot_id, exc)
            return
        log.warning(
            "%s reported without its latched emergency stop %s: sending it again", robot_id, latch.command_id
        )
        metrics.COMMANDS.labels("resent").inc()
        await self._send(topic, body.encode(), latch.command_id)


async def _quietly(awaitable) -> None:
    try:
        await awaitable
    except Exception as exc:
        log.debug("ignored: %s", exc)
