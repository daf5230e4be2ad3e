"""Drops at the broker are never silent (issue 8): Mosquitto drops QoS 1 messages for a
subscriber whose queue is full and reports it only in `$SYS/broker/publish/messages/dropped`.
Ingest reads it: a gauge, a counter of increases, an ERROR line."""

from __future__ import annotations

import asyncio
import logging

import aiomqtt
from tonypi_ingest import metrics
from tonypi_ingest.config import load_config

from .conftest import RunningIngest
from .test_mqtt_restart import PrivateMosquitto


async def test_messages_the_broker_drops_are_counted_and_logged(tmp_path, ingest_env, js, caplog):
    broker = PrivateMosquitto(tmp_path)
    with broker.conf.open("a") as conf:
        conf.write("sys_interval 1\nmax_queued_messages 5\n")
    broker.start()
    caplog.set_level(logging.WARNING, logger="tonypi_ingest.mqtt")
    running = None
    try:
        env = {**ingest_env, "MQTT_URL": f"mqtt://127.0.0.1:{broker.port}"}
        running = await RunningIngest(load_config(env)).start()
        seen = metrics.BROKER_DROPPED_SEEN._value.get()
        # A subscriber away with a persistent session: its queue of 5 overflows.
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="away1", clean_session=False) as away:
            await away.subscribe("elsewhere/#", qos=1)
        async with aiomqtt.Client("127.0.0.1", broker.port) as publisher:
            for n in range(20):
                await publisher.publish("elsewhere/x", b"%d" % n, qos=1)
        async with asyncio.timeout(10):
            while metrics.BROKER_DROPPED_SEEN._value.get() - seen < 15:
                await asyncio.sleep(0.1)
        assert metrics.BROKER_DROPPED_SEEN._value.get() - seen == 15
        assert metrics.BROKER_DROPPED._value.get() == 15
        lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any("the MQTT broker dropped" in line for line in lines), lines
    finally:
        if running is not None:
            await running.stop()
        broker.kill()


def test_a_retained_value_is_a_baseline_a_live_one_news_and_a_smaller_one_a_restart():
    from tonypi_ingest.broker_stats import DROPPED_TOPIC, BrokerDrops

    seen = metrics.BROKER_DROPPED_SEEN._value.get()
    drops = BrokerDrops()
    drops.observe(DROPPED_TOPIC, b"100", retained=True)  # before ingest subscribed
    drops.observe(DROPPED_TOPIC, b"130", retained=False)
    drops.observe(DROPPED_TOPIC, b"7", retained=False)  # the broker restarted
    drops.observe(DROPPED_TOPIC, b"not a number", retained=False)
    drops.observe("$SYS/broker/uptime", b"5", retained=False)
    assert metrics.BROKER_DROPPED_SEEN._value.get() - seen == 30 + 7
    fresh = BrokerDrops()
    fresh.observe(DROPPED_TOPIC, b"12", retained=False)  # first value, but live: all news
    assert metrics.BROKER_DROPPED_SEEN._value.get() - seen == 30 + 7 + 12
