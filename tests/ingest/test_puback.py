"""The PUBACK's verdict (mqtt_puback.py) for every MQTT 5 reason code a PUBACK may carry:
below 0x80 the broker took the message, from 0x80 up it did not. test_mqtt_contract.py
shows the same on a real Mosquitto (0x10 and 0x87); these are the codes it cannot be made
to send."""

from __future__ import annotations

import asyncio
import logging

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from tonypi_ingest import metrics
from tonypi_ingest.mqtt_port import MqttError, PublishRefused
from tonypi_ingest.mqtt_puback import Pubacks

TOPIC = "tonypi/emergency_stop/r1"
TAKEN = {0x00: "Success", 0x10: "No matching subscribers"}
REFUSED = {
    0x80: "Unspecified error",
    0x83: "Implementation specific error",
    0x87: "Not authorized",
    0x90: "Topic name invalid",
    0x91: "Packet identifier in use",
    0x97: "Quota exceeded",
    0x99: "Payload format invalid",
}


def puback(code: int, reason_string: str | None = None) -> tuple[ReasonCode, Properties]:
    properties = Properties(PacketTypes.PUBACK)
    if reason_string is not None:
        properties.ReasonString = reason_string
    return ReasonCode(PacketTypes.PUBACK, identifier=code), properties


async def answer(code: int, reason_string: str | None = None) -> None:
    """A publish waiting for its PUBACK, which arrives with `code`."""
    pubacks = Pubacks(asyncio.get_running_loop())
    pubacks.sent(7, TOPIC)
    waiting = asyncio.create_task(pubacks.wait(7, timeout=5.0))
    await asyncio.sleep(0)  # the publish is waiting
    pubacks.answered(7, *puback(code, reason_string))
    await waiting


@pytest.mark.parametrize("code", TAKEN)
async def test_a_success_class_code_means_the_broker_took_it(code):
    await answer(code)


@pytest.mark.parametrize("code", REFUSED)
async def test_a_failure_code_refuses_the_publish_with_its_name(code):
    with pytest.raises(PublishRefused) as refused:
        await answer(code)
    assert (refused.value.topic, refused.value.code, refused.value.reason) == (TOPIC, code, REFUSED[code])
    assert str(refused.value) == f"the broker refused the publish on {TOPIC}: {REFUSED[code]} (0x{code:02x})"


async def test_the_brokers_reason_string_is_part_of_the_reason():
    with pytest.raises(PublishRefused, match=r"Quota exceeded: 10 a second \(0x97\)"):
        await answer(0x97, "10 a second")


async def test_no_puback_in_time_is_an_error_and_a_late_refusal_is_noted_not_counted_again(caplog):
    caplog.set_level(logging.INFO)
    pubacks = Pubacks(asyncio.get_running_loop())
    pubacks.sent(3, TOPIC)
    with pytest.raises(MqttError, match=r"no PUBACK from the broker within 0\.01s"):
        await pubacks.wait(3, timeout=0.01)
    before = metrics.REPLIES_REFUSED._value.get()
    pubacks.answered(3, *puback(0x87))  # nobody waits any more: its caller counted it lost
    assert [r.levelno for r in caplog.records if "refused" in r.getMessage()] == [logging.INFO]
    assert metrics.REPLIES_REFUSED._value.get() == before  # not a scan reply


async def test_refused_sends_are_each_counted_and_one_warning_a_minute_per_reason(caplog):
    pubacks = Pubacks(asyncio.get_running_loop())
    before = metrics.REPLIES_REFUSED._value.get()
    for mid, code in enumerate((0x87, 0x87, 0x87, 0x97, 0x10), start=1):
        pubacks.sent(mid, f"tonypi/items/r{mid}", awaited=False)
        pubacks.answered(mid, *puback(code))
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "the broker refused the publish on tonypi/items/r1: Not authorized (0x87): not delivered",
        "the broker refused the publish on tonypi/items/r4: Quota exceeded (0x97): not delivered",
    ]
    assert metrics.REPLIES_REFUSED._value.get() - before == 4  # 0x10: taken, not counted


async def test_a_lost_connection_fails_whoever_waits():
    pubacks = Pubacks(asyncio.get_running_loop())
    pubacks.sent(1, TOPIC)
    waiting = asyncio.create_task(pubacks.wait(1, timeout=5.0))
    await asyncio.sleep(0)
    pubacks.lose(MqttError("connection lost"))
    with pytest.raises(MqttError, match="connection lost"):
        await waiting
