"""Beyond the seed: the telemetry snapshot, the projected `online`, /stats by it, and the ops
endpoints (/metrics by route template, /livez, /readyz, /openapi.json, /docs)."""

from __future__ import annotations

from datetime import datetime

from tonypi_events import EventType
from tonypi_query.bootstrap import POOL

from .conftest import API
from .events import minutes_ago


async def test_telemetry_snapshot_with_receive_times(api, fleet):
    await fleet.status(
        "t1",
        system_info={"cpu_percent": 41.0, "temperature": 55.5, "platform": "pi"},
        ip_address="10.0.0.7",
        at=minutes_ago(3),
    )
    await fleet.publish(
        EventType.BATTERY, "t1", {"percentage": 87.5, "voltage": 10.5, "charging": False}, at=minutes_ago(2)
    )
    await fleet.publish(EventType.LOCATION, "t1", {"x": 1.0, "y": 2.0, "z": 0.0, "heading": 90})
    for value in (0.4, 0.3):
        await fleet.publish(
            EventType.SENSOR, "t1", {"sensor_type": "ultrasonic_distance", "value": value, "unit": "m"}
        )
    await fleet.publish(EventType.SENSOR, "t1", {"sensor_type": "light_level", "value": 300, "unit": "lx"})
    await fleet.publish(
        EventType.SERVOS,
        "t1",
        {
            "servo_count": 2,
            "servos": {
                "servo_1": {"id": 1, "position": 500, "temperature": 41, "alert_level": "normal"},
                "servo_2": {"id": 2, "position": 300, "temperature": 63, "alert_level": "warning"},
            },
        },
    )
    await fleet.applied()

    response = await api.get(f"{API}/robots/t1/telemetry")
    assert response.status == 200
    snap = await response.json()
    assert (snap["robot_id"], snap["status"], snap["online"]) == ("t1", "online", True)
    assert (snap["battery"]["percentage"], snap["battery"]["charging"]) == (87.5, False)
    assert (snap["location"]["x"], snap["location"]["heading"]) == (1.0, 90.0)
    assert (snap["system_info"]["cpu_percent"], snap["system_info"]["ip_address"]) == (41.0, "10.0.0.7")
    assert snap["sensors"]["ultrasonic_distance"]["value"] == 0.3  # the latest reading wins
    assert set(snap["sensors"]) == {"ultrasonic_distance", "light_level"}
    assert (snap["servos"]["servo_count"], snap["servos"]["max_temperature"]) == (2, 63)
    assert snap["vision"] is None
    received = {
        part: datetime.fromisoformat(snap[part]["received_at"])
        for part in ("battery", "location", "system_info", "servos")
    }
    assert all(t.utcoffset() is not None for t in received.values())
    assert received["system_info"] < received["battery"] < received["location"]
    missing = await api.get(f"{API}/robots/nobody/telemetry")
    assert (missing.status, await missing.json()) == (404, {"detail": "Robot not found"})


async def test_online_is_projected_from_the_stream_clock_and_stats_count_by_it(api, fleet):
    await fleet.status("fresh")  # heartbeat now
    await fleet.status("silent", at=minutes_ago(10))  # lost power 10 minutes ago: never said offline
    await fleet.status("parked")
    await fleet.status("parked", "offline")  # clean shutdown just now
    await fleet.status("retired")
    await fleet.tick()  # the stream's clock: now; "silent" was last heard 10 minutes before it
    await fleet.applied()
    assert (await api.delete(f"{API}/robots/retired")).status == 200

    robots = {r["robot_id"]: r for r in await (await api.get(f"{API}/robots")).json()}
    assert set(robots) == {"fresh", "silent", "parked"}
    assert {k: (r["online"], r["status"]) for k, r in robots.items()} == {
        "fresh": (True, "online"),
        "silent": (False, "online"),
        "parked": (False, "offline"),
    }
    stats = await (await api.get(f"{API}/stats")).json()
    assert (stats["total_robots"], stats["online_robots"], stats["offline_robots"]) == (3, 1, 2)


async def test_metrics_by_route_template_and_health(api, fleet):
    await fleet.status("m1")
    await fleet.applied()
    for robot_id in ("m1", "m2-unknown"):
        await api.get(f"{API}/robots/{robot_id}")
    metrics = await (await api.get("/metrics")).text()
    assert (
        'tonypi_query_requests_total{method="GET",route="/api/robots-db/robots/{robot_id}",status="200"}'
        in metrics
    )
    assert 'route="/api/robots-db/robots/{robot_id}",status="404"' in metrics
    assert "m2-unknown" not in metrics  # never the raw path
    assert (
        'tonypi_query_request_duration_seconds_bucket{le="0.005",method="GET",'
        'route="/api/robots-db/robots/{robot_id}"}'
    ) in metrics
    assert "tonypi_fleet_robots_total" in metrics and "tonypi_query_write_wait_seconds_bucket" in metrics

    # every query runs under the statement timeout
    assert await api.server.app[POOL].fetchval("SHOW statement_timeout") == "3s"

    assert (await api.get("/livez")).status == 200
    ready = await api.get("/readyz")
    assert ready.status == 200 and (await ready.json())["checks"]["database"] == "ok"


async def test_openapi_document_and_docs_page(api):
    doc = await (await api.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert {path: sorted(ops) for path, ops in doc["paths"].items()} == {
        f"{API}/robots": ["get", "post"],
        f"{API}/robots/{{robot_id}}": ["delete", "get", "put"],
        f"{API}/robots/{{robot_id}}/telemetry": ["get"],
        f"{API}/logs": ["get"],
        f"{API}/jobs/history": ["get"],
        f"{API}/jobs/{{id}}": ["get"],
        f"{API}/stats": ["get"],
        f"{API}/alarms": ["get"],
        f"{API}/alarms/{{id}}": ["get"],
        f"{API}/alarms/{{id}}/ack": ["post"],
        f"{API}/robots/{{robot_id}}/commands": ["get", "post"],
        f"{API}/commands": ["post"],
        f"{API}/commands/{{command_id}}": ["get"],
        f"{API}/robots/{{robot_id}}/emergency-stop": ["post"],
        f"{API}/robots/{{robot_id}}/resume": ["post"],
        f"{API}/emergency-stop": ["post"],
        f"{API}/resume": ["post"],
        f"{API}/emergency-stops": ["get"],
        f"{API}/events": ["get"],
        f"{API}/schedules": ["get", "post"],
        f"{API}/schedules/{{schedule_id}}": ["get"],
        f"{API}/schedules/{{schedule_id}}/cancel": ["post"],
        f"{API}/schedules/{{schedule_id}}/firings": ["get"],
        f"{API}/schedules/{{schedule_id}}/pause": ["post"],
        f"{API}/schedules/{{schedule_id}}/resume": ["post"],
        f"{API}/analytics/utilization": ["get"],
        f"{API}/analytics/jobs": ["get"],
        f"{API}/analytics/performance": ["get"],
        f"{API}/analytics/errors": ["get"],
        f"{API}/logs/export": ["get"],
        f"{API}/jobs/export": ["get"],
        f"{API}/metrics": ["get"],
        f"{API}/robots/{{robot_id}}/history": ["get"],
        f"{API}/robots/{{robot_id}}/history/export": ["get"],
        f"{API}/history/fleet": ["get"],
        f"{API}/whoami": ["get"],
    }
    events = doc["paths"][f"{API}/events"]["get"]["responses"]["200"]["content"]
    assert list(events) == ["text/event-stream"]
    logs_params = {p["name"]: p for p in doc["paths"][f"{API}/logs"]["get"]["parameters"]}
    limit = logs_params["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (100, 1000)
    firings = doc["paths"][f"{API}/schedules/{{schedule_id}}/firings"]["get"]
    firings_limit = {p["name"]: p for p in firings["parameters"]}["limit"]["schema"]
    assert (firings_limit["default"], firings_limit["maximum"]) == (100, 1000)
    assert "Link" in firings["responses"]["200"]["headers"]
    jobs_params = {p["name"]: p for p in doc["paths"][f"{API}/jobs/history"]["get"]["parameters"]}
    assert jobs_params["limit"]["schema"]["default"] == 50
    create = doc["components"]["schemas"]["RobotCreate"]
    assert create["required"] == ["robot_id"] and create["additionalProperties"] is False

    page = await api.get("/docs")
    assert page.status == 200 and "swagger-ui-bundle.js" in await page.text()
    asset = await api.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status == 200 and len(await asset.read()) > 100_000  # served offline, from the package
