"""The end-to-end part of `make deploy-check` (deploy/check/run.sh): run inside the
stack's network namespace, it acts as one robot and as an operator, and checks that what
the robot sent came out of the containers.

1. waits (deadline) until every ingest replica, the projector and query answer /readyz;
2. publishes, as robot `check_<random>`, a status, a battery and a location message (the
   robots' MQTT contract, docs/contract/MQTT.md), and one message that must be refused
   (a battery reading nobody can be attributed to);
3. waits until the API shows the robot online with that battery and location;
4. reads /metrics of the services: the ingest replicas (summed: their shared subscription
   gives each message to one of them) published the events and counted the refusal, and
   each is connected to MQTT and NATS; the projector applied the events and holds the
   active lock; query counted the reads.

Standard library plus paho-mqtt and prometheus_client (already in the project's venv), and
`tonypi_cli.token` for the API token the operator part needs;
the robot's MQTT login from CHECK_ROBOT_ID and CHECK_ROBOT_PASSWORD (run.sh puts it in
the broker's password file). Exit 0 when every check
passed; otherwise 1 with the first failure and what was last seen.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from prometheus_client.parser import text_string_to_metric_families

API = "/api/robots-db"


class CheckFailed(Exception):
    pass


TOKEN: dict[str, str] = {}  # the API token the operator part uses, made once the stack is ready


def make_api_token() -> str:
    """A viewer token, made as an operator makes one (`tonypi token create`, as the NATS admin
    user with the run's password), applied by the stack's projector (docs/security.md)."""
    import asyncio

    from tonypi_cli.token import create_token

    env = {
        "NATS_URL": "nats://127.0.0.1:4222",
        "NATS_USER": "admin",
        "NATS_PASSWORD": os.environ["NATS_ADMIN_PASSWORD"],
        "DATABASE_URL": f"postgresql://tonypi:{os.environ['POSTGRES_PASSWORD']}@127.0.0.1:5432/tonypi_db",
    }
    token, applied = asyncio.run(create_token(env, "deploy-check", "viewer", wait=60))
    if not applied:
        raise CheckFailed("the API token made for the check was not applied by the projector within 60 s")
    return token


def http_get(url: str, timeout: float = 3.0) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {TOKEN['value']}"} if "value" in TOKEN and "/api/" in url else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        ) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(what: str, probe: Callable[[], Any], deadline_s: float, interval_s: float = 0.5) -> Any:
    """Call probe until it returns something truthy; fail after deadline_s with the last answer."""
    end = time.monotonic() + deadline_s
    last: Any = None
    while True:
        try:
            last = probe()
            if last and not isinstance(last, Exception):
                return last
        except (OSError, ValueError) as exc:
            last = exc
        if time.monotonic() > end:
            raise CheckFailed(f"{what}: not within {deadline_s:.0f} s (last seen: {last!r})")
        time.sleep(interval_s)


def ready(base: str) -> Callable[[], bool]:
    def probe() -> bool:
        status, _ = http_get(f"{base}/readyz")
        return status == 200

    return probe


def metrics(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = http_get(f"{base}/metrics")
    if status != 200:
        raise CheckFailed(f"{base}/metrics answered {status}")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include `labels`."""
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and set(labels.items()) <= set(sample_labels)
    )


def publish_robot(mqtt_host: str, mqtt_port: int, robot_id: str) -> None:
    now = datetime.now().isoformat()  # the robots' own format: local time, no zone
    messages = [
        (
            f"tonypi/status/{robot_id}",
            {
                "robot_id": robot_id,
                "status": "online",
                "timestamp": now,
                "system_info": {"platform": "deploy-check", "cpu_percent": 12.5, "temperature": 41.0},
            },
        ),
        ("tonypi/battery", {"robot_id": robot_id, "percentage": 73.5, "voltage": 11.1, "timestamp": now}),
        ("tonypi/location", {"robot_id": robot_id, "x": 1.25, "y": -2.5, "z": 0.0, "timestamp": now}),
        # No robot_id on a topic that does not name one: ingest must refuse it, and count it.
        ("tonypi/battery", {"percentage": 10.0, "timestamp": now}),
    ]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"deploy-check-{robot_id}")
    if os.environ.get("CHECK_ROBOT_PASSWORD"):  # the robot's own login in the broker's password file
        client.username_pw_set(robot_id, os.environ["CHECK_ROBOT_PASSWORD"])
    client.connect(mqtt_host, mqtt_port)
    client.loop_start()
    try:
        for topic, payload in messages:
            info = client.publish(topic, json.dumps(payload), qos=1)
            info.wait_for_publish(timeout=10)
            if not info.is_published():
                raise CheckFailed(f"MQTT publish to {topic} was not acknowledged within 10 s")
    finally:
        client.loop_stop()
        client.disconnect()


def ingest_metrics(bases: list[str]) -> dict:
    """The ingest replicas' samples, summed per series."""
    summed: dict = {}
    for base in bases:
        for key, value in metrics(base).items():
            summed[key] = summed.get(key, 0.0) + value
    return summed


def check(args: argparse.Namespace) -> None:
    ingests = [f"http://127.0.0.1:{port}" for port in args.ingest_ports]
    projector, query = f"http://127.0.0.1:{args.projector_port}", f"http://127.0.0.1:{args.query_port}"
    services = [(f"ingest :{port}", base) for port, base in zip(args.ingest_ports, ingests, strict=True)]
    for name, base in [*services, ("projector", projector), ("query", query)]:
        started = time.monotonic()
        wait_for(f"{name} {base}/readyz", ready(base), args.ready_timeout)
        print(f"probe: {name} ready ({time.monotonic() - started:.1f} s)")

    ingest_before = ingest_metrics(ingests)
    robot_id = os.environ.get("CHECK_ROBOT_ID") or f"check_{secrets.token_hex(4)}"  # run.sh made its login
    TOKEN["value"] = make_api_token()
    publish_robot("127.0.0.1", args.mqtt_port, robot_id)
    print(f"probe: published status, battery, location and one unattributable message as {robot_id}")

    def robot_online() -> dict | None:
        status, body = http_get(f"{query}{API}/robots/{robot_id}")
        robot = json.loads(body) if status == 200 else None
        return robot if robot and robot.get("status") == "online" and robot.get("last_seen") else None

    robot = wait_for(f"robot {robot_id} online in the API", robot_online, args.apply_timeout)

    def telemetry_complete() -> dict | None:
        status, body = http_get(f"{query}{API}/robots/{robot_id}/telemetry")
        telemetry = json.loads(body) if status == 200 else {}
        battery, location = telemetry.get("battery") or {}, telemetry.get("location") or {}
        if battery.get("percentage") == 73.5 and (location.get("x"), location.get("y")) == (1.25, -2.5):
            return telemetry
        return None

    wait_for(f"battery and location of {robot_id} in the API", telemetry_complete, args.apply_timeout)
    print(f"probe: API shows {robot_id} {robot['status']}, last_seen {robot['last_seen']}, battery, location")

    status, body = http_get(f"{query}{API}/robots")
    if status != 200 or robot_id not in {r["robot_id"] for r in json.loads(body)}:
        raise CheckFailed(f"GET {API}/robots ({status}) does not list {robot_id}")

    ingest_after = ingest_metrics(ingests)
    for kind in ("status", "battery", "location"):
        grew = total(ingest_after, "tonypi_ingest_events_published_total", kind=kind) - total(
            ingest_before, "tonypi_ingest_events_published_total", kind=kind
        )
        if grew < 1:
            raise CheckFailed(
                f"ingest /metrics: tonypi_ingest_events_published_total{{kind={kind!r}}} did not grow"
            )
    refused = total(ingest_after, "tonypi_ingest_rejected_total") - total(
        ingest_before, "tonypi_ingest_rejected_total"
    )
    if refused < 1:
        raise CheckFailed(
            "ingest /metrics: tonypi_ingest_rejected_total did not count the unattributable message"
        )
    replicas = len(ingests)
    if (
        total(ingest_after, "tonypi_ingest_mqtt_connected") != replicas
        or total(ingest_after, "tonypi_ingest_nats_connected") != replicas
    ):
        raise CheckFailed(f"ingest /metrics: not all {replicas} replicas connected to MQTT and NATS")

    projected = metrics(projector)
    if total(projected, "tonypi_projector_active") != 1:
        raise CheckFailed("projector /metrics: tonypi_projector_active is not 1")
    if total(projected, "tonypi_projector_events_applied_total") < 3:
        raise CheckFailed("projector /metrics: fewer than 3 events applied")

    queried = metrics(query)
    if total(queried, "tonypi_query_requests_total", status="200") < 1:
        raise CheckFailed("query /metrics: no answered request counted")
    print(
        f"probe: /metrics: {replicas} ingest replicas published status, battery, location, refused 1; "
        f"projector active, {total(projected, 'tonypi_projector_events_applied_total'):.0f} events applied; "
        f"query counted {total(queried, 'tonypi_query_requests_total'):.0f} requests"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt-port", type=int, default=1883)
    parser.add_argument("--ingest-ports", type=int, nargs="+", default=[9101])
    parser.add_argument("--projector-port", type=int, default=9102)
    parser.add_argument("--query-port", type=int, default=8000)
    parser.add_argument("--ready-timeout", type=float, default=180.0)
    parser.add_argument("--apply-timeout", type=float, default=60.0)
    try:
        check(parser.parse_args())
    except CheckFailed as exc:
        print(f"probe: FAILED: {exc}", file=sys.stderr)
        return 1
    print("probe: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
