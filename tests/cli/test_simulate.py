"""`tonypi simulate` against the real Mosquitto: a subscriber sees both generations on
their topics, under the test's topic prefix, and every robot says offline on SIGTERM."""

import asyncio
import json
import signal
import sys
from collections import defaultdict
from urllib.parse import urlsplit

import aiomqtt
from tonypi_events import route_for

from tests.conftest import MQTT_URL
from tests.support.processes import popen_logged


async def test_simulated_fleet_publishes_both_generations_and_goes_offline_on_sigterm(mqtt_prefix, tmp_path):
    broker = urlsplit(MQTT_URL)
    seen: dict[str, list[dict]] = defaultdict(list)  # relative topic -> payloads

    def topics_of(robot_id: str) -> set[str]:
        return {t.split("/")[1] for t, ps in list(seen.items()) for p in ps if p["robot_id"] == robot_id}

    common = {"status", "sensors", "battery", "location", "scan", "job", "commands"}
    gen2 = common | {"servos", "vision", "logs"}
    async with aiomqtt.Client(broker.hostname, broker.port or 1883) as sub:
        await sub.subscribe(f"{mqtt_prefix}#", qos=1)
        log = tmp_path / "simulate.log"
        env = {"MQTT_URL": MQTT_URL, "MQTT_TOPIC_PREFIX": mqtt_prefix, "PATH": "/usr/bin:/bin"}
        proc = popen_logged(
            [
                sys.executable,
                "-m",
                "tonypi_cli",
                "simulate",
                "--robots",
                "4",
                "--gen",
                "mixed",
                "--rate",
                "400",
                "--qos",
                "1",
                "--id-prefix",
                "simbot",
                "--seed",
                "3",
                "--duration",
                "60",
            ],  # a bound, should the test fail before its SIGTERM
            env,
            log,
        )

        async def collect():
            async for message in sub.messages:
                relative = message.topic.value.removeprefix(mqtt_prefix)
                seen[relative].append(json.loads(message.payload))
                if relative.startswith("tonypi/scan/"):  # answer it as ingest does: found
                    robot = seen[relative][-1]["robot_id"]
                    reply = {"robot_id": robot, "qr": "QR12345", "found": True, "item": {"sku": "ITEM-001"}}
                    await sub.publish(f"{mqtt_prefix}tonypi/items/{robot}", json.dumps(reply), qos=1)
                if relative.startswith("tonypi/status/") and seen[relative][-1]["status"] == "offline":
                    offline.add(relative)
                    if len(offline) == 4:
                        return

        offline: set[str] = set()
        collector = asyncio.create_task(collect())
        # Until both generations have shown every habit (at 400 msg/s: scans every ~0.5 s a
        # robot), not a fixed sleep: on a loaded machine the process takes seconds to start.
        async with asyncio.timeout(25):
            while not (common | {"commands"} <= topics_of("simbot01") and gen2 <= topics_of("simbot02")):
                await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 20) == 0, log.read_text()
        await asyncio.wait_for(collector, 10)

    robots = {f"simbot0{n}": 1 if n % 2 else 2 for n in range(1, 5)}
    assert offline == {f"tonypi/status/{r}" for r in robots}
    for relative, payloads in seen.items():
        if relative.startswith("tonypi/items/"):
            continue  # the test's own replies, as ingest sends them
        route = route_for(relative)
        assert route is not None, relative
        for payload in payloads:
            assert payload["robot_id"] in robots
            if route.robot_id_in_topic:
                assert relative.endswith("/" + payload["robot_id"])

    assert common <= topics_of("simbot01") and not topics_of("simbot01") & {"servos", "vision", "logs"}
    assert gen2 <= topics_of("simbot02")
    # Each item reply is echoed without a command id and moves the item counter on.
    echoes = [p for p in seen["tonypi/commands/response"] if p["robot_id"] == "simbot01"]
    assert echoes and all("command_id" not in p and p["item"] == {"sku": "ITEM-001"} for p in echoes)
    counters = [p for p in seen["tonypi/job/simbot01"] if "percent" in p]
    assert [p["items_done"] for p in counters] == list(range(1, len(counters) + 1))
    # The generations differ on the wire as MQTT.md says.
    scans = {p["robot_id"]: p for t, ps in seen.items() if t.startswith("tonypi/scan/") for p in ps}
    assert "qr" in scans["simbot01"] and "qr_data" in scans["simbot02"]
    sensors = seen["tonypi/sensors/simbot01"] + seen["tonypi/sensors/simbot02"]
    units = {p["robot_id"]: p["unit"] for p in sensors if p["sensor_type"] == "accelerometer_x"}
    assert units == {"simbot01": "m/s²", "simbot02": "m/s^2"}
    headings = {p["robot_id"]: "heading" in p for p in seen["tonypi/location"]}
    assert headings["simbot01"] is False and headings["simbot02"] is True
    # The status comes first on connect, then the rest; offline is the last word.
    for robot in robots:
        statuses = [p["status"] for p in seen[f"tonypi/status/{robot}"]]
        assert statuses[0] == "online" and statuses[-1] == "offline"


def test_rate_sets_the_fleet_speed():
    from tonypi_cli.behaviour import messages_per_second
    from tonypi_cli.simulate import plan_fleet

    real = plan_fleet(5, "mixed", None)
    assert real.speed == 1.0 and [r.generation for r in real.robots] == [1, 2, 1, 2, 1]
    natural = sum(messages_per_second(r.generation) for r in real.robots)
    assert 20 < natural < 40  # ~5 msg/s a robot: the sensor bursts dominate
    assert plan_fleet(5, "mixed", natural * 10).speed == 10.0
    assert {r.generation for r in plan_fleet(3, "2", None).robots} == {2}
