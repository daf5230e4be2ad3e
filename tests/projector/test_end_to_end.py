"""From MQTT, through a real `tonypi-ingest` process, to the read tables: both firmware
generations as robots publish them, and a message ingest rejects."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiomqtt
import asyncpg
from tonypi_events.items import DEFAULT_CATALOGUE_PATH, load_item_catalogue

from tests.conftest import MQTT_URL
from tests.projector.conftest import projector_running
from tests.support.processes import ServiceProcess

ROBOT_1, ROBOT_2 = "tonypi_gen1", "tonypi_gen2"
TS = "2026-11-26T10:15:02.123456"


def messages(prefix: str) -> list[tuple[str, dict | bytes]]:
    return [
        (
            f"tonypi/status/{ROBOT_1}",
            {
                "robot_id": ROBOT_1,
                "status": "online",
                "timestamp": TS,
                "system_info": {"cpu_percent": 12.5, "temperature": 48.0, "uptime": 60},
            },
        ),
        (
            f"tonypi/sensors/{ROBOT_1}",
            {
                "robot_id": ROBOT_1,
                "sensor_type": "accelerometer_x",
                "value": 0.12,
                "unit": "m/s²",
                "timestamp": TS,
            },
        ),
        (
            "tonypi/battery",
            {"robot_id": ROBOT_1, "percentage": 87.5, "voltage": 10.5, "charging": False, "timestamp": TS},
        ),
        (f"tonypi/scan/{ROBOT_1}", {"robot_id": ROBOT_1, "qr": "QR12345", "timestamp": TS}),
        (
            f"tonypi/job/{ROBOT_1}",
            {
                "robot_id": ROBOT_1,
                "percent": 40.0,
                "status": "working",
                "items_done": 4,
                "items_total": 10,
                "timestamp": TS,
            },
        ),
        (
            f"tonypi/job/{ROBOT_2}",
            {
                "robot_id": ROBOT_2,
                "task_name": "Transport",
                "status": "started",
                "items_total": 3,
                "timestamp": TS,
            },
        ),
        (
            f"tonypi/scan/{ROBOT_2}",
            {
                "robot_id": ROBOT_2,
                "qr_data": "QR99999",
                "station_name": "Dock",
                "action": "scanned",
                "timestamp": TS,
            },
        ),
        (
            f"tonypi/job/{ROBOT_2}",
            {"robot_id": ROBOT_2, "status": "failed", "reason": "dropped the box", "timestamp": TS},
        ),
        (
            f"tonypi/logs/{ROBOT_2}",
            {
                "robot_id": ROBOT_2,
                "level": "WARNING",
                "message": "low light",
                "source": "vision",
                "timestamp": TS,
            },
        ),
        (
            "tonypi/commands/response",
            {
                "robot_id": ROBOT_2,
                "command_id": "c-1",
                "success": False,
                "message": "path blocked",
                "timestamp": TS,
            },
        ),
        ("tonypi/battery", b'{"percentage": 50}'),  # no robot_id: ingest rejects it
        (f"tonypi/status/{ROBOT_2}", {"robot_id": ROBOT_2, "status": "offline", "timestamp": TS}),
    ]


async def test_robot_messages_of_both_generations_end_up_in_the_read_tables(
    streams, projector_env, database_url, mqtt_prefix, tmp_path: Path
):
    ingest = ServiceProcess("tonypi-ingest", projector_env, log_path=tmp_path / "ingest.log").start()
    try:
        await ingest.async_wait_http_ok(f"http://127.0.0.1:{projector_env['INGEST_PORT']}/readyz")
        async with projector_running(projector_env):
            host, port = MQTT_URL.removeprefix("mqtt://").split(":")
            async with aiomqtt.Client(host, int(port)) as client:
                for topic, payload in messages(mqtt_prefix):
                    body = payload if isinstance(payload, bytes) else json.dumps(payload)
                    await client.publish(mqtt_prefix + topic, body, qos=1)
            conn = await asyncpg.connect(database_url)
            try:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    robot_2 = await conn.fetchrow("SELECT * FROM robots WHERE robot_id = $1", ROBOT_2)
                    if robot_2 is not None and robot_2["status"] == "offline":
                        break
                    await asyncio.sleep(0.1)
                robots = {r["robot_id"]: r for r in await conn.fetch("SELECT * FROM robots")}
                jobs = await conn.fetch("SELECT * FROM jobs ORDER BY id")
                logs = await conn.fetch("SELECT * FROM system_logs ORDER BY id")
            finally:
                await conn.close()
    finally:
        ingest.stop()

    assert set(robots) == {ROBOT_1, ROBOT_2}
    telemetry = robots[ROBOT_1]["telemetry"]
    telemetry = json.loads(telemetry) if isinstance(telemetry, str) else telemetry
    assert telemetry["battery"]["percentage"] == 87.5 and telemetry["system_info"]["cpu_percent"] == 12.5
    assert telemetry["sensors"]["accelerometer_x"]["value"] == 0.12
    assert robots[ROBOT_2]["status"] == "offline"

    gen1_job, gen2_job = (
        [j for j in jobs if j["robot_id"] == ROBOT_1],
        [j for j in jobs if j["robot_id"] == ROBOT_2],
    )
    assert (
        len(gen1_job) == 1 and gen1_job[0]["status"] == "active" and gen1_job[0]["percent_complete"] == 40.0
    )
    # The scan recorded the item the catalogue ingest answers from.
    assert json.loads(gen1_job[0]["last_item"]) == load_item_catalogue(DEFAULT_CATALOGUE_PATH)["QR12345"]
    [failed] = gen2_job
    assert (failed["status"], failed["task_name"], failed["reason"], failed["items_done"]) == (
        "failed",
        "Transport",
        "dropped the box",
        0,  # QR99999 is not in the catalogue: the robot does not count it, nor does its job
    )
    assert json.loads(failed["last_item"]) == {"qr": "QR99999"}

    by_category = {}
    for line in logs:
        by_category.setdefault(line["category"], []).append(line)
    assert by_category["robot_vision"][0]["level"] == "WARNING"
    assert (
        by_category["command"][0]["level"] == "WARNING"
        and "path blocked" in by_category["command"][0]["message"]
    )
    [rejected] = by_category["ingest"]
    assert rejected["level"] == "WARNING" and rejected["robot_id"] is None
    assert [line["message"] for line in by_category["status"]] == [
        f"Robot {ROBOT_2} is now offline (was online)"
    ]
    assert {line["message"].split()[2] for line in by_category["job"]} == {"started", "failed"}
