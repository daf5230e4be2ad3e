"""Every scan gets the item lookup answer on tonypi/items/{robot_id}, found or not."""

from __future__ import annotations

import asyncio
import json

from .conftest import raw


async def _reply(mqtt, mqtt_prefix: str, robot: str, scan: dict) -> dict:
    await mqtt.subscribe(mqtt_prefix + f"tonypi/items/{robot}", qos=1)
    await mqtt.publish(mqtt_prefix + f"tonypi/scan/{robot}", raw(scan), qos=1)
    async with asyncio.timeout(10):
        async for message in mqtt.messages:
            return json.loads(message.payload)


async def test_gen1_scan_of_a_known_item_is_answered_found(ingest, mqtt, mqtt_prefix):
    reply = await _reply(mqtt, mqtt_prefix, "scanner1", {"robot_id": "scanner1", "qr": "QR12345"})
    assert reply["found"] is True
    assert reply["robot_id"] == "scanner1"
    assert reply["qr"] == "QR12345"
    assert set(reply["item"]) == {"sku", "name", "description", "weight_kg", "location"}
    assert reply["timestamp"]


async def test_gen2_scan_of_a_known_item_is_answered_found(ingest, mqtt, mqtt_prefix):
    reply = await _reply(
        mqtt,
        mqtt_prefix,
        "scanner2",
        {"robot_id": "scanner2", "qr_data": "QR00001", "station_name": "S", "action": "scanned"},
    )
    assert (reply["found"], reply["qr"]) == (True, "QR00001")


async def test_scan_of_an_unknown_item_is_answered_not_found(ingest, mqtt, mqtt_prefix):
    reply = await _reply(mqtt, mqtt_prefix, "scanner3", {"qr": "QR99999"})
    assert reply == {
        "robot_id": "scanner3",
        "qr": "QR99999",
        "found": False,
        "message": "Item not found",
        "timestamp": reply["timestamp"],
    }


async def test_catalogue_is_read_from_the_configured_file(ingest_env, js, mqtt, mqtt_prefix, tmp_path):
    from tonypi_ingest.config import load_config

    from .conftest import RunningIngest

    catalogue = tmp_path / "items.json"
    catalogue.write_text(
        json.dumps(
            {
                "QRLOCAL": {
                    "sku": "L-1",
                    "name": "Local",
                    "description": "d",
                    "weight_kg": 2.0,
                    "location": "here",
                }
            }
        )
    )
    running = await RunningIngest(load_config({**ingest_env, "ITEM_CATALOGUE_PATH": str(catalogue)})).start()
    try:
        reply = await _reply(mqtt, mqtt_prefix, "scanner4", {"qr": "QRLOCAL"})
        assert reply["item"]["sku"] == "L-1"
        assert (await _reply(mqtt, mqtt_prefix, "scanner4", {"qr": "QR12345"}))["found"] is False
    finally:
        await running.stop()


# The seed system's demo catalogue (its mock item lookup), minus its per-process
# `received_at` stamp: firmware and scripts tested against the seed get the same answers.
SEED_DEMO_ITEMS = {
    "QR12345": {
        "sku": "ITEM-001",
        "name": "Widget A",
        "description": "Blue widget, 10cm x 5cm",
        "weight_kg": 0.55,
        "location": "Aisle 3, Shelf B",
    },
    "QR67890": {
        "sku": "ITEM-002",
        "name": "Gadget B",
        "description": "Red gadget, fragile",
        "weight_kg": 1.2,
        "location": "Aisle 1, Shelf A",
    },
    "QR00001": {
        "sku": "ITEM-003",
        "name": "Box C",
        "description": "Small cardboard box",
        "weight_kg": 0.2,
        "location": "Receiving",
    },
}


async def test_the_shipped_demo_catalogue_answers_as_the_seed_did(ingest, mqtt, mqtt_prefix):
    for n, (qr, item) in enumerate(SEED_DEMO_ITEMS.items()):
        robot = f"seedscan{n}"
        reply = await _reply(mqtt, mqtt_prefix, robot, {"robot_id": robot, "qr": qr})
        assert (reply["found"], reply["qr"], reply["item"]) == (True, qr, item)
