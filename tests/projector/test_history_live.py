"""Telemetry history through the real services (docs/history.md): robots' MQTT messages
through ingest and the projector into samples and rollups; retention drops a partition and
nothing else; a spike survives the rollups."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiomqtt
import asyncpg
from tonypi_events import EventType
from tonypi_projector import history_store as hs
from tonypi_projector.retention import history_pass

from tests.conftest import MQTT_URL
from tests.projector.support import event, publish, snapshot, wait_applied, wait_for_checkpoint


async def _rows(database_url: str, sql: str, *args) -> list[dict]:
    conn = await asyncpg.connect(database_url)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_robot_messages_through_ingest_become_samples_and_rollups(
    js, streams, projector, ingest_process, database_url, mqtt_prefix
):
    robot = "tonypi_hist"
    messages = [
        ("tonypi/battery", {"robot_id": robot, "percentage": 80.0, "voltage": 10.4, "charging": False}),
        ("tonypi/battery", {"robot_id": robot, "percentage": 79.5, "voltage": 10.3, "charging": True}),
        (
            f"tonypi/status/{robot}",
            {"robot_id": robot, "status": "online", "system_info": {"cpu_percent": 33}},
        ),
        (f"tonypi/servos/{robot}", {"robot_id": robot, "servos": {"servo_2": {"id": 2, "temperature": 55}}}),
        (f"tonypi/sensors/{robot}", {"robot_id": robot, "sensor_type": "gyroscope_z", "value": -1.5}),
    ]
    host, port = MQTT_URL.removeprefix("mqtt://").split(":")
    async with aiomqtt.Client(host, int(port)) as client:
        for topic, payload in messages:
            await client.publish(mqtt_prefix + topic, json.dumps(payload), qos=1)
    await wait_applied(js, streams, database_url, len(messages))

    raw = await _rows(
        database_url, "SELECT metric, value FROM history_raw WHERE robot_id = $1 ORDER BY t", robot
    )
    assert [(r["metric"], r["value"]) for r in raw] == [
        ("battery.percentage", 80.0),
        ("battery.voltage", 10.4),
        ("battery.charging", 0.0),
        ("battery.percentage", 79.5),
        ("battery.voltage", 10.3),
        ("battery.charging", 1.0),
        ("cpu.percent", 33.0),
        ("servo.2.temperature", 55.0),
        ("sensor.gyroscope_z", -1.5),
    ]
    for table in ("history_minute", "history_hour"):
        rollup = await _rows(
            database_url,
            f"SELECT min, max, sum, count, last FROM {table} "
            "WHERE robot_id = $1 AND metric = 'battery.percentage'",
            robot,
        )
        # Both readings (sent within the same second) fall in one bucket.
        assert rollup == [{"min": 79.5, "max": 80.0, "sum": 159.5, "count": 2, "last": 79.5}]


async def test_retention_drops_an_old_partition_whole_and_nothing_else(js, streams, projector, database_url):
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=10), now - timedelta(hours=1)  # both within 14 days
    for at, value in ((old, 11.0), (old + timedelta(seconds=1), 12.0), (recent, 13.0)):
        seq = await publish(js, streams, event(EventType.BATTERY, "r_ret", {"percentage": value}, at=at))
    await wait_for_checkpoint(database_url, seq)
    before = await snapshot(database_url)
    old_partition = hs.partition_name(hs.RAW, hs.partition_start(hs.RAW, old))
    conn = await asyncpg.connect(database_url)
    try:
        partitions_before = set(await hs.partitions(conn, hs.RAW))
        assert old_partition in partitions_before
        dropped = await history_pass(conn, hs.HistoryPolicy(raw_days=7))  # as if 10 days had passed
        assert dropped == [old_partition]  # the minute and hour rollups keep 90 and 730 days
        kept = set(await hs.partitions(conn, hs.RAW))
        assert old_partition not in kept and partitions_before - {old_partition} <= kept
        # Made ahead: today's and the next two days' partitions exist, for every table.
        for table in hs.TABLES:
            ahead = hs.partition_name(table, hs.partition_start(table, now + timedelta(days=2)))
            assert ahead in await hs.partitions(conn, table)
    finally:
        await conn.close()
    after = await snapshot(database_url)
    assert [r["value"] for r in after["history_raw"] if r["robot_id"] == "r_ret"] == [13.0]
    assert {k: v for k, v in after.items() if k != "history_raw"} == {
        k: v for k, v in before.items() if k != "history_raw"
    }
    assert [r for r in after["history_raw"] if r["robot_id"] != "r_ret"] == [
        r for r in before["history_raw"] if r["robot_id"] != "r_ret"
    ]
    minute = [r for r in after["history_minute"] if r["robot_id"] == "r_ret"]
    assert [(r["min"], r["max"], r["count"]) for r in minute] == [(11.0, 12.0, 2), (13.0, 13.0, 1)]

    # A reading for a partition retention has given up is not written (a replay agrees): past
    # the projector's 14 raw days, within the rollups' 90.
    ancient = now - timedelta(days=20)
    seq = await publish(js, streams, event(EventType.BATTERY, "r_ret", {"percentage": 1.0}, at=ancient))
    await wait_for_checkpoint(database_url, seq)
    conn = await asyncpg.connect(database_url)
    try:
        assert hs.partition_name(hs.RAW, hs.partition_start(hs.RAW, ancient)) not in await hs.partitions(
            conn, hs.RAW
        )
    finally:
        await conn.close()
    again = await snapshot(database_url)
    assert [r["value"] for r in again["history_raw"] if r["robot_id"] == "r_ret"] == [13.0]
    assert [(r["last"], r["count"]) for r in again["history_minute"] if r["robot_id"] == "r_ret"] == [
        (1.0, 1),
        (12.0, 2),
        (13.0, 1),
    ]


async def test_a_spike_survives_the_rollups(js, streams, projector, database_url):
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    seq = 0
    for s in range(180):  # three minutes at 1 Hz, one reading far above the rest
        value = 95.0 if s == 100 else 40.0 + (s % 3)
        seq = await publish(
            js,
            streams,
            event(
                EventType.STATUS,
                "r_spike",
                {"status": "online", "system_info": {"cpu_temperature": value}},
                at=start + timedelta(seconds=s),
            ),
        )
    await wait_for_checkpoint(database_url, seq)
    minute = await _rows(
        database_url,
        "SELECT bucket, min, max, count, (sum / count)::float8 AS mean FROM history_minute "
        "WHERE robot_id = 'r_spike' ORDER BY bucket",
    )
    assert [(r["min"], r["max"], r["count"]) for r in minute] == [
        (40.0, 42.0, 60),
        (40.0, 95.0, 60),
        (40.0, 42.0, 60),
    ]
    assert minute[1]["mean"] < 42.0  # the mean alone would hide it
    hour = await _rows(database_url, "SELECT min, max, count FROM history_hour WHERE robot_id = 'r_spike'")
    assert hour == [{"min": 40.0, "max": 95.0, "count": 180}]


async def test_a_refused_reading_is_counted_and_logged_and_the_rest_applied(
    js, streams, projector, database_url, caplog
):
    from tonypi_projector import metrics

    def refused() -> float:
        return metrics.HISTORY_REFUSED.labels("servo_id_out_of_range")._value.get()

    before = refused()
    servos = {"servos": {"servo_99": {"id": 99, "temperature": 50}, "servo_1": {"id": 1, "temperature": 41}}}
    seq = await publish(js, streams, event(EventType.SERVOS, "r_refuse", servos, at=datetime.now(UTC)))
    await wait_for_checkpoint(database_url, seq)
    assert refused() == before + 1
    assert "servo 'servo_99' id 99 is outside 1..32" in caplog.text
    raw = await _rows(database_url, "SELECT metric, value FROM history_raw WHERE robot_id = 'r_refuse'")
    assert raw == [{"metric": "servo.1.temperature", "value": 41.0}]
