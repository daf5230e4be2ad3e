"""The simulated fleet's messages are what MQTT.md says robots send: each one is routed to
the right event type, detected as the right schema version, and validates against it."""

import random
from datetime import datetime

import pytest
from tonypi_cli import fleet
from tonypi_events import ROUTES, EventType, model_for, route_for
from tonypi_events.commanding import GEN1 as GEN1_FIRMWARE
from tonypi_events.commanding import GEN2_SIM, TAKES, firmware_of_status

NOW = datetime(2026, 11, 26, 10, 15, 2, 123456)
GEN1, GEN2 = fleet.Robot("tonypi_g1", 1), fleet.Robot("tonypi_g2", 2)


def every_message(robot: fleet.Robot) -> list[fleet.Message]:
    rng = random.Random(7)
    messages = [
        fleet.status(robot, NOW, rng),
        fleet.status(robot, NOW, rng, state="offline"),
        *fleet.sensor_burst(robot, NOW, rng),
        fleet.battery(robot, NOW, rng, percentage=87.5),
        fleet.location(robot, NOW, x=1.0, y=2.0, heading=370.0),
        fleet.scan(robot, NOW, "QR12345"),
        fleet.job_progress(robot, NOW, items_done=0, items_total=10, started=True),
        fleet.job_progress(robot, NOW, items_done=4, items_total=10),
        fleet.job_progress(robot, NOW, items_done=10, items_total=10),
        fleet.command_response(robot, NOW, "c-1", data={"battery": 80}),
    ]
    if robot.generation == 2:
        messages += [
            fleet.servos(robot, NOW, rng),
            fleet.vision(robot, NOW, rng),
            fleet.log_line(robot, NOW, "walking", level="WARNING"),
            fleet.emergency_stop_response(robot, NOW, "c-2"),
        ]
    return messages


def validate(message: fleet.Message):
    route = route_for(message.topic)
    assert route is not None, f"no route for {message.topic}"
    version = route.detect_version(message.payload)
    model = model_for(route.event_type, version)
    parsed = model.model_validate(message.payload)
    assert parsed.robot_id == message.payload["robot_id"]
    if route.robot_id_in_topic:
        assert message.topic.rsplit("/", 1)[1] == message.payload["robot_id"]
    return route.event_type, version, parsed


@pytest.mark.parametrize("robot", [GEN1, GEN2], ids=["gen1", "gen2"])
def test_every_message_validates_against_its_schema(robot):
    seen = {validate(m)[0] for m in every_message(robot)}
    gen2_only = {EventType.SERVOS, EventType.VISION, EventType.LOG, EventType.EMERGENCY_STOP_RESPONSE}
    robot_kinds = {route.event_type for route in ROUTES}  # what robots send, not the API's or ingest's
    assert seen == (robot_kinds if robot.generation == 2 else robot_kinds - gen2_only)


def test_timestamps_are_naive_isoformat_like_the_firmware():
    for message in every_message(GEN2):
        stamp = datetime.fromisoformat(message.payload["timestamp"])
        assert stamp.tzinfo is None and stamp == NOW


def test_generations_differ_where_the_contract_says():
    rng = random.Random(1)
    g1_units = {m.payload["unit"] for m in fleet.sensor_burst(GEN1, NOW, rng)}
    g2_burst = fleet.sensor_burst(GEN2, NOW, rng)
    assert "m/s²" in g1_units and all(m.payload["unit"].isascii() for m in g2_burst)
    assert {"light_level", "light_sensor_dark"} <= {m.payload["sensor_type"] for m in g2_burst}
    assert len(fleet.sensor_burst(GEN1, NOW, rng)) == 10

    assert validate(fleet.scan(GEN1, NOW, "QR1"))[1] == 1
    _, version, scan = validate(fleet.scan(GEN2, NOW, "QR1", station_name="Dock"))
    assert version == 2 and scan.qr_data == "QR1" and scan.station_name == "Dock"

    _, v1, job1 = validate(fleet.job_progress(GEN1, NOW, items_done=4, items_total=10))
    assert (v1, job1.percent, job1.status) == (1, 40.0, "working")
    statuses = [
        validate(fleet.job_progress(GEN2, NOW, items_done=d, items_total=10, started=d == 0))
        for d in (0, 4, 10)
    ]
    assert [(v, j.status) for _, v, j in statuses] == [(2, "started"), (2, "in_progress"), (2, "completed")]

    assert "heading" not in fleet.location(GEN1, NOW, x=0, y=0).payload
    assert fleet.location(GEN2, NOW, x=0, y=0, heading=370).payload["heading"] == 10.0
    status2 = fleet.status(GEN2, NOW, rng).payload
    assert {"ip_address", "camera_url", "hardware_available", "emergency_stopped"} <= status2.keys()
    assert "ip_address" not in fleet.status(GEN1, NOW, rng).payload


def test_the_simulated_fleet_is_seen_as_what_it_is():
    """Gen 2 here is the simulator (it takes start_job, stop_job, set_servo): its status says
    it has no hardware, so the projection offers it those types; gen 1 stays gen 1."""
    rng = random.Random(3)
    status2 = fleet.status(GEN2, NOW, rng).payload
    assert status2["hardware_available"] is False
    assert firmware_of_status(status2) == GEN2_SIM
    assert set(fleet.command_types(2)) == set(TAKES[GEN2_SIM])
    assert firmware_of_status(fleet.status(GEN1, NOW, rng).payload) == GEN1_FIRMWARE
    assert set(fleet.command_types(1)) == set(TAKES[GEN1_FIRMWARE])


def test_gen1_robots_publish_no_gen2_topics():
    with pytest.raises(ValueError, match="gen 1"):
        fleet.servos(GEN1, NOW, random.Random())
    with pytest.raises(ValueError):
        fleet.Robot("x", 3)


def test_the_client_habits_have_the_contract_shapes():
    """The simulator's echo, item counter and gen-2 job messages have the keys the real
    client's have (tests/projector/clients.py, written from the contract), and validate."""
    from tests.projector import clients

    reply = {"robot_id": "tonypi_g1", "qr": "QR12345", "found": True, "item": {"sku": "ITEM-001"}}
    pairs = [
        (fleet.item_echo(GEN1, NOW, reply), clients.item_echo("tonypi_g1", reply)),
        (fleet.item_counter_progress(GEN1, NOW, items_done=11), clients.item_counter("tonypi_g1", 11)),
        (
            fleet.gen2_job_started(GEN2, NOW, task_name="Transport", start_time="t0", items_total=10),
            clients.gen2_started("tonypi_g2", 0),
        ),
    ]
    for status in ("working", "completed"):
        simulated = fleet.gen2_job_report(
            GEN2,
            NOW,
            status=status,
            start_time="t0",
            items_done=1,
            items_total=10,
            elapsed_s=3,
            estimated_s=120,
            history=[{"item_id": "ITEM_0001"}],
        )
        pairs.append((simulated, clients.gen2_report("tonypi_g2", 0, 3, 1, status=status)))
    for simulated, contract in pairs:
        assert simulated.topic.split("/")[:2] == contract[0].split("/")[:2]
        assert set(simulated.payload) == set(contract[1]), simulated.topic
        validate(simulated)
    counter = pairs[1][0].payload
    assert (counter["percent"], counter["status"]) == (110.0, "completed")
    echo = pairs[0][0].payload
    assert (echo["success"], echo["item"], echo["message"]) == (True, {"sku": "ITEM-001"}, "Item info")
