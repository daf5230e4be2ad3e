"""The seed document's curl examples (POSTGRESQL_COMPLETE.md), against the real projector."""

from __future__ import annotations

from .conftest import API

ROBOT = "tonypi_raspberrypi"


async def test_empty_system_answers_as_the_seed_did(api):
    stats = await api.get(f"{API}/stats")
    assert stats.status == 200
    assert await stats.json() == {
        "total_robots": 0,
        "online_robots": 0,
        "offline_robots": 0,
        "total_jobs": 0,
        "active_jobs": 0,
        "completed_jobs_today": 0,
        # added beside the seed's fields
        "active_alarms": 0,
        "active_alarms_by_severity": {},
        "active_alarms_by_kind": {},
    }
    robots = await api.get(f"{API}/robots")
    assert (robots.status, await robots.json()) == (200, [])
    logs = await api.get(f"{API}/logs", params={"limit": "5"})
    # The only line: the admin token the test's client uses being made (issue 11).
    assert logs.status == 200
    assert [line["message"] for line in await logs.json()] == ["Token created: test-admin (admin)"]


async def test_robot_management_examples(api, fleet):
    await fleet.status(ROBOT, system_info={"cpu_percent": 12.5})
    await fleet.applied()

    # curl http://localhost:8000/api/robots-db/robots/tonypi_raspberrypi
    got = await api.get(f"{API}/robots/{ROBOT}")
    assert got.status == 200
    robot = await got.json()
    assert robot["robot_id"] == ROBOT and robot["status"] == "online" and robot["online"] is True

    # curl -X POST .../robots -d '{"robot_id": "tonypi_02", "name": "Lab Robot 2", ...}'
    created = await api.post(
        f"{API}/robots",
        json={
            "robot_id": "tonypi_02",
            "name": "Lab Robot 2",
            "location": "Building A",
            "battery_threshold_low": 25.0,
        },
    )
    assert created.status == 200, await created.text()
    body = await created.json()
    assert {
        k: body[k]
        for k in (
            "robot_id",
            "name",
            "location",
            "battery_threshold_low",
            "battery_threshold_critical",
            "temp_threshold_warning",
            "temp_threshold_critical",
            "is_active",
        )
    } == {
        "robot_id": "tonypi_02",
        "name": "Lab Robot 2",
        "location": "Building A",
        "battery_threshold_low": 25.0,
        "battery_threshold_critical": 10.0,
        "temp_threshold_warning": 70.0,
        "temp_threshold_critical": 80.0,
        "is_active": True,
    }

    # curl -X PUT .../robots/tonypi_02 -d '{"location": "Building B", "temp_threshold_warning": 75.0}'
    updated = await api.put(
        f"{API}/robots/tonypi_02", json={"location": "Building B", "temp_threshold_warning": 75.0}
    )
    assert updated.status == 200
    after = await updated.json()
    assert (after["location"], after["temp_threshold_warning"]) == ("Building B", 75.0)
    assert after["name"] == "Lab Robot 2"  # unchanged: not sent

    # curl http://localhost:8000/api/robots-db/robots
    listed = await (await api.get(f"{API}/robots")).json()
    assert sorted(r["robot_id"] for r in listed) == ["tonypi_02", ROBOT]


async def test_system_log_examples(api, fleet):
    await fleet.log(ROBOT, "arm servo stalled", level="ERROR")
    await fleet.log(ROBOT, "walking", level="INFO")
    await fleet.log("tonypi_other", "camera lost", level="ERROR")
    await fleet.applied()

    # curl "http://localhost:8000/api/robots-db/logs?limit=20"
    recent = await (await api.get(f"{API}/logs", params={"limit": "20"})).json()
    assert 3 <= len(recent) <= 20
    messages = [entry["message"] for entry in recent]
    assert messages.index("camera lost") < messages.index("walking") < messages.index("arm servo stalled")

    # curl "http://localhost:8000/api/robots-db/logs?level=ERROR"
    errors = await (await api.get(f"{API}/logs", params={"level": "ERROR"})).json()
    assert sorted(e["message"] for e in errors) == ["arm servo stalled", "camera lost"]
    assert all(e["level"] == "ERROR" for e in errors)

    # curl "http://localhost:8000/api/robots-db/logs?robot_id=tonypi_raspberrypi"
    mine = await (await api.get(f"{API}/logs", params={"robot_id": ROBOT})).json()
    assert mine and all(e["robot_id"] == ROBOT for e in mine)
    assert "camera lost" not in [e["message"] for e in mine]

    # curl "http://localhost:8000/api/robots-db/logs?category=mqtt": a category nothing wrote
    assert await (await api.get(f"{API}/logs", params={"category": "mqtt"})).json() == []
    robot_lines = await (await api.get(f"{API}/logs", params={"category": "robot_main"})).json()
    assert sorted(e["message"] for e in robot_lines) == ["arm servo stalled", "camera lost", "walking"]


async def test_job_history_examples(api, fleet):
    for n in range(3):
        await fleet.job(ROBOT, "started", task_name=f"Transport {n}")
        await fleet.job(ROBOT, "completed", task_name=f"Transport {n}")
    await fleet.job("tonypi_other", "started", task_name="Sort")
    await fleet.applied()

    # curl "http://localhost:8000/api/robots-db/jobs/history"
    everything = await (await api.get(f"{API}/jobs/history")).json()
    assert len(everything) == 4
    assert everything[0]["robot_id"] == "tonypi_other" and everything[0]["status"] == "active"

    # curl "http://localhost:8000/api/robots-db/jobs/history?robot_id=tonypi_raspberrypi"
    mine = await (await api.get(f"{API}/jobs/history", params={"robot_id": ROBOT})).json()
    assert len(mine) == 3 and {j["status"] for j in mine} == {"completed"}

    # curl "http://localhost:8000/api/robots-db/jobs/history?limit=10"
    limited = await (await api.get(f"{API}/jobs/history", params={"limit": "2"})).json()
    assert limited == everything[:2]

    stats = await (await api.get(f"{API}/stats")).json()
    assert (stats["total_jobs"], stats["active_jobs"], stats["completed_jobs_today"]) == (4, 1, 3)
    assert (stats["total_robots"], stats["online_robots"], stats["offline_robots"]) == (2, 2, 0)
