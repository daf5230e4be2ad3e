"""The ingest contract as an AsyncAPI document, generated from the same tables the
service runs on: MQTT topics consumed (tonypi_events.topics.ROUTES and the payload
models of tonypi_events.schemas), JetStream subjects produced (tonypi_events.subjects),
and the scan reply published back to robots.

    python -m tonypi_ingest.asyncapi > docs/asyncapi.yaml

FastStream broker objects serve only as the specification here: they are never
connected. tests/ingest/test_asyncapi.py fails when docs/asyncapi.yaml is stale.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, Union

import yaml
from faststream.mqtt import MQTTBroker, QoS
from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, ConfigDict, Field, create_model
from tonypi_events import ROUTES, SCHEMAS, EventEnvelope, EventType, StreamNames
from tonypi_events.items import ITEM_FIELDS
from tonypi_events.rejections import MAX_PAYLOAD_BYTES, RejectReason
from tonypi_events.topics import COMMAND_PATTERN, EMERGENCY_STOP_PATTERN, ITEM_REPLY_PATTERN

TITLE = "TonyPi Fleet Monitor ingest"
VERSION = "1.0.0"
DESCRIPTION = "\n\n".join(
    (
        "What robots publish over MQTT, and what ingest makes of it on NATS JetStream.",
        "Every robot message becomes exactly one event (`Nats-Msg-Id` = hash of topic and payload) "
        "on stream `TONYPI_EVENTS`, subject `tonypi.events.<robot>.<event_type>`. Topics are relative "
        "to `MQTT_TOPIC_PREFIX`; with `MQTT_SHARED_GROUP` set, ingest subscribes through "
        "`$share/<group>/...` and replicas split the load.",
        "A message that is not JSON, not an object, names no robot, has a known field of the wrong "
        f"type, or exceeds {MAX_PAYLOAD_BYTES} bytes goes to stream `TONYPI_DEADLETTER` (subject "
        "`tonypi.deadletter.<reason>`, reasons: " + ", ".join(r.value for r in RejectReason) + ") "
        "with an `ingest_rejected` event beside it.",
    )
)


class ItemFound(BaseModel):
    robot_id: str
    qr: str
    found: Literal[True]
    item: create_model("Item", **{f: (Any, ...) for f in ITEM_FIELDS})  # type: ignore[valid-type]
    timestamp: str


class ItemNotFound(BaseModel):
    robot_id: str
    qr: str
    found: Literal[False]
    message: Literal["Item not found"]
    timestamp: str


def _payload_type(event_type: EventType) -> Any:
    models = tuple(SCHEMAS[event_type].values())
    return models[0] if len(models) == 1 else Union[models]  # noqa: UP007 (a runtime union of versions)


def _event_model(event_type: EventType) -> type[EventEnvelope]:
    name = "".join(part.title() for part in event_type.value.split("_")) + "Event"
    return create_model(
        name,
        __base__=EventEnvelope,
        event_type=(Literal[event_type.value], Field(...)),  # type: ignore[valid-type]
        payload=(_payload_type(event_type), ...),
    )


def _spec_handler(payload_type: Any):
    async def handler(payload):  # never called: its annotation is the message schema
        return None

    handler.__annotations__ = {"payload": payload_type, "return": None}
    return handler


class CommandMessage(BaseModel):
    """What the robot reads on tonypi/commands/...: the type, the id, and the parameters beside them."""

    model_config = ConfigDict(extra="allow")

    type: str
    id: str


class EmergencyStopMessage(BaseModel):
    type: Literal["emergency_stop"]
    reason: str
    id: str


def _subject(subjects, event_type: EventType) -> str:
    return subjects.event("{robot}", event_type).replace("%7B", "{").replace("%7D", "}")


def _commands(mqtt: MQTTBroker, nats: NatsBroker, subjects) -> None:
    """The deliverer (docs/commands.md): operator commands from the stream to the robots."""
    for event_type, what in (
        (EventType.COMMAND_REQUESTED, "an operator command"),
        (EventType.EMERGENCY_STOP, "an emergency stop pressed or released"),
    ):
        subject = subjects.of_type(event_type)
        nats.subscriber(
            subject,
            title=f"{subject}:consume",
            description=f"{what}: one durable consumer shared by every ingest replica, so one replica "
            "delivers it; robot `_fleet` means the broadcast topic.",
        )(_spec_handler(_event_model(event_type)))
    nats.subscriber(
        subjects.of_type(EventType.STATUS),
        title="status:follow",
        description="Ordered consumer (last per subject, then live): a latched robot reporting without "
        "its stop is sent it again.",
    )(_spec_handler(_event_model(EventType.STATUS)))
    sent = _subject(subjects, EventType.COMMAND_SENT)
    nats.publisher(
        sent,
        title=f"{sent}:publish",
        schema=_event_model(EventType.COMMAND_SENT),
        description="The claim, appended before the MQTT publish with Nats-Msg-Id `sent-<command id>` "
        "(`resend-<command id>-<status event id>` for a stop sent again): a second claim is a duplicate.",
    )
    for pattern, schema, what in (
        (
            COMMAND_PATTERN,
            CommandMessage,
            "A command (QoS 1); `broadcast` in place of the id reaches every robot.",
        ),
        (
            EMERGENCY_STOP_PATTERN,
            EmergencyStopMessage,
            "An emergency stop (QoS 1, gen 2); `broadcast` stops the fleet. "
            "A resume goes on tonypi/commands.",
        ),
    ):
        mqtt.publisher(
            pattern, title=f"{pattern}:publish", schema=schema, description=what, qos=QoS.AT_LEAST_ONCE
        )


def build() -> AsyncAPI:
    # Robots speak MQTT 3.1.1 (paho's default); ingest subscribes with QoS 1.
    mqtt = MQTTBroker("mqtt://127.0.0.1:1883", version="3.1.1", description="The robots' broker (MQTT_URL)")
    nats = NatsBroker("nats://127.0.0.1:4222", description="NATS with JetStream (NATS_URL)")
    subjects = StreamNames().subjects
    for route in ROUTES:
        topic = route.pattern.replace("+", "{robot_id}")
        mqtt.subscriber(
            topic, qos=QoS.AT_LEAST_ONCE, title=f"{topic}:consume", description=route.description
        )(_spec_handler(_payload_type(route.event_type)))
        subject = subjects.event("{robot}", route.event_type).replace("%7B", "{").replace("%7D", "}")
        nats.publisher(
            subject,
            title=f"{subject}:publish",
            schema=_event_model(route.event_type),
            description=f"One `{route.event_type.value}` event per message on {route.pattern}; "
            "`<robot>` is the robot id, subject-safe (`%XX` escapes).",
        )
    rejected = subjects.event("{robot}", EventType.INGEST_REJECTED).replace("%7B", "{").replace("%7D", "}")
    nats.publisher(
        rejected,
        title=f"{rejected}:publish",
        schema=_event_model(EventType.INGEST_REJECTED),
        description="A robot message ingest refused; robot `_unattributed` when none is known.",
    )
    nats.publisher(
        subjects.dead_letter("{reason}"),
        title="dead letter",
        schema=bytes,
        description="The refused message's raw bytes. Headers: Tonypi-Topic, Tonypi-Reason, "
        "Tonypi-Detail, Tonypi-Size, Tonypi-Received-At.",
    )
    mqtt.publisher(
        ITEM_REPLY_PATTERN,
        title=f"{ITEM_REPLY_PATTERN}:publish",
        schema=ItemFound | ItemNotFound,
        description="The item lookup answer, published for every scan once its event is stored.",
    )
    _commands(mqtt, nats, subjects)
    return AsyncAPI(mqtt, nats, title=TITLE, version=VERSION, description=DESCRIPTION, schema_version="3.0.0")


def render() -> str:
    # FastStream keeps subscribers and publishers unordered: sort keys so the document
    # is byte-for-byte reproducible and the staleness test means something.
    return yaml.safe_dump(
        build().to_specification().to_jsonable(), sort_keys=True, allow_unicode=True, width=100
    )


if __name__ == "__main__":
    sys.stdout.write(render())
