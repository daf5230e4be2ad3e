"""Alarms through the API: the list (filters, keyset pages), one alarm with its
transitions, acknowledging (twice harmless, recorded with who), the robot object's active
alarms, /stats' counts and the bounded Prometheus gauges."""

from __future__ import annotations

import asyncio
import time

from tonypi_events import EventType

from .conftest import API
from .events import minutes_ago


async def _alarms(api, **params) -> list[dict]:
    response = await api.get(f"{API}/alarms", params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_alarms_listed_filtered_acknowledged_and_counted(api, fleet):
    await fleet.publish(EventType.BATTERY, "b1", {"percentage": 15}, at=minutes_ago(5))
    await fleet.publish(EventType.BATTERY, "b1", {"percentage": 8}, at=minutes_ago(4))
    await fleet.publish(EventType.STATUS, "hot", {"status": "online", "system_info": {"temperature": 85}})
    await fleet.publish(EventType.BATTERY, "b2", {"percentage": 18}, at=minutes_ago(3))
    await fleet.publish(EventType.BATTERY, "b2", {"percentage": 40}, at=minutes_ago(2))  # cleared
    await fleet.applied()

    everything = await _alarms(api)
    assert [(a["robot_id"], a["kind"], a["severity"], a["state"]) for a in everything] == [
        ("hot", "temperature", "critical", "open"),
        ("b2", "battery", "warning", "cleared"),
        ("b1", "battery", "critical", "open"),
    ]
    assert [a["robot_id"] for a in await _alarms(api, state="open")] == ["hot", "b1"]
    assert [a["robot_id"] for a in await _alarms(api, kind="battery", severity="critical")] == ["b1"]
    assert [a["robot_id"] for a in await _alarms(api, robot_id="b2")] == ["b2"]
    assert [a["robot_id"] for a in await _alarms(api, until=minutes_ago(3.5).isoformat())] == ["b1"]
    bad = await api.get(f"{API}/alarms", params={"kind": "volcano"})
    assert bad.status == 422 and (await bad.json())["detail"][0]["loc"] == ["query", "kind"]

    # keyset pages through Link, no repeat, no gap
    first = await api.get(f"{API}/alarms", params={"limit": "2"})
    page = await first.json()
    nxt = first.headers["Link"].split(";")[0].strip("<>")
    rest = await (await api.get(nxt)).json()
    assert [a["id"] for a in page + rest] == [a["id"] for a in everything]

    b1 = next(a for a in everything if a["robot_id"] == "b1")
    detail = await (await api.get(f"{API}/alarms/{b1['id']}")).json()
    assert [(t["action"], t["severity"]) for t in detail["transitions"]] == [
        ("raised", "warning"),
        ("escalated", "critical"),
    ]
    assert (detail["value"], detail["threshold"]) == (8.0, 10.0)

    acked = await api.post(f"{API}/alarms/{b1['id']}/ack")
    assert acked.status == 200
    body = await acked.json()
    assert body["acknowledged_by"] == {"name": "test-admin", "role": "admin"}  # the client's token
    assert body["transitions"][-1]["action"] == "acknowledged"
    again = await api.post(f"{API}/alarms/{b1['id']}/ack")
    assert again.status == 200 and len((await again.json())["transitions"]) == 3  # twice: harmless
    assert (await api.post(f"{API}/alarms/999999999/ack")).status == 404
    missing = await api.get(f"{API}/alarms/999999999")
    assert (missing.status, await missing.json()) == (404, {"detail": "Alarm not found"})
    assert [a["robot_id"] for a in await _alarms(api, acknowledged="true")] == ["b1"]

    robot = await (await api.get(f"{API}/robots/b1")).json()
    assert [(a["kind"], a["severity"], a["acknowledged"]) for a in robot["active_alarms"]] == [
        ("battery", "critical", True)
    ]
    listed = {r["robot_id"]: r for r in await (await api.get(f"{API}/robots")).json()}
    assert listed["b2"]["active_alarms"] == [] and len(listed["hot"]["active_alarms"]) == 1

    stats = await (await api.get(f"{API}/stats")).json()
    assert stats["active_alarms"] == 2
    assert stats["active_alarms_by_severity"] == {"critical": 2}
    assert stats["active_alarms_by_kind"] == {"battery": 1, "temperature": 1}


async def test_alarm_gauges_have_bounded_labels(api, fleet):
    for i in range(30):
        await fleet.publish(EventType.BATTERY, f"g{i:02d}", {"percentage": 5 + i})
    await fleet.applied()

    async def exported() -> str:
        return await (await api.get("/metrics")).text()

    # the gauges refresh every FLEET_GAUGE_INTERVAL (1 s here)
    deadline = time.monotonic() + 20
    text = await exported()
    while 'tonypi_alarms_active{kind="battery",severity="critical"} 6.0' not in text:
        assert time.monotonic() < deadline, "alarm gauges not refreshed"
        await asyncio.sleep(0.2)
        text = await exported()
    assert 'tonypi_alarms_active{kind="battery",severity="warning"} 10.0' in text
    assert 'tonypi_alarms_active{kind="offline",severity="critical"} 0.0' in text
    lowest = [line for line in text.splitlines() if line.startswith("tonypi_robot_battery_percent_lowest{")]
    assert len(lowest) == 20 and 'robot_id="g00"' in lowest[0]  # FLEET_GAUGE_TOP: never more
