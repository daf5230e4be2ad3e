"""The telemetry history API (docs/history.md) over a real projector and database: the
vocabulary, one robot's series from raw samples and rollups (a spike never averaged away),
the fleet form, and the reasons for a 422."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta

from tonypi_events import EventType
from tonypi_events import metrics_vocabulary as vocab

from .conftest import API


def _start() -> datetime:
    """The start of the hour two hours ago: inside every table's retention, and a few
    minutes from it stay inside one hour bucket (from :58 they spanned two)."""
    t = datetime.now(UTC) - timedelta(hours=2)
    return t.replace(minute=0, second=0, microsecond=0)


async def _cpu_minutes(fleet, robot: str, start: datetime) -> None:
    """Three minutes of CPU temperature at 1 Hz, one spike at second 100."""
    sends = [
        fleet.publish(
            EventType.STATUS,
            robot,
            {"status": "online", "system_info": {"cpu_temperature": 95.0 if s == 100 else 40.0 + s % 3}},
            at=start + timedelta(seconds=s),
        )
        for s in range(180)
    ]
    await asyncio.gather(*sends)


async def test_metrics_lists_the_vocabulary(api):
    response = await api.get(f"{API}/metrics")
    assert response.status == 200
    body = await response.json()
    assert [m["name"] for m in body] == [m.name for m in vocab.VOCABULARY]
    assert {"name": "battery.percentage", "unit": "%"}.items() <= body[0].items()
    assert all(m["description"] for m in body)


async def test_robot_history_by_minute_and_raw_keeps_the_spike(api, fleet):
    start = _start()
    await _cpu_minutes(fleet, "h1", start)
    await fleet.publish(EventType.BATTERY, "h1", {"percentage": 50.0}, at=start + timedelta(seconds=30))
    await fleet.applied()
    end = start + timedelta(minutes=3)
    params = {"metric": "cpu.temperature", "from": start.isoformat(), "to": end.isoformat()}

    response = await api.get(f"{API}/robots/h1/history", params={**params, "step": "60"})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["robot_id"], body["step_s"], body["source"]) == ("h1", 60, "minute")
    [series] = body["series"]
    assert (series["metric"], series["unit"]) == ("cpu.temperature", "°C")
    assert [(p["min"], p["max"], p["count"]) for p in series["points"]] == [
        (40.0, 42.0, 60),
        (40.0, 95.0, 60),
        (40.0, 42.0, 60),
    ]
    assert series["points"][1]["mean"] < 42.0 and series["points"][2]["last"] == 40.0 + 179 % 3
    assert datetime.fromisoformat(series["points"][1]["t"]) == start + timedelta(minutes=1)

    # Auto over three minutes: one-second buckets from the raw samples, the spike its own point.
    response = await api.get(
        f"{API}/robots/h1/history", params=[*params.items(), ("metric", "battery.percentage")]
    )
    body = await response.json()
    assert (body["step_s"], body["source"]) == (1, "raw")
    cpu, battery = body["series"]
    assert len(cpu["points"]) == 180 and max(p["max"] for p in cpu["points"]) == 95.0
    assert [(p["last"], p["count"]) for p in battery["points"]] == [(50.0, 1)]

    # Thirty days up to now: hourly buckets, the spike still the maximum.
    month = {
        "metric": "cpu.temperature,battery.percentage",
        "from": (end - timedelta(days=30)).isoformat(),
        "to": end.isoformat(),
    }
    body = await (await api.get(f"{API}/robots/h1/history", params=month)).json()
    assert (body["step_s"], body["source"]) == (3600, "hour")
    assert [(p["max"], p["count"]) for p in body["series"][0]["points"]] == [(95.0, 180)]


async def test_a_range_older_than_raw_retention_reads_the_minute_rollups(api, fleet):
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=20)
    for s in (0, 10, 70):
        await fleet.publish(
            EventType.BATTERY, "h_old", {"percentage": 60.0 - s}, at=start + timedelta(seconds=s)
        )
    await fleet.applied()
    params = {
        "metric": "battery.percentage",
        "from": start.isoformat(),
        "to": (start + timedelta(minutes=5)).isoformat(),
    }
    body = await (await api.get(f"{API}/robots/h_old/history", params={**params, "step": "30"})).json()
    assert (body["step_s"], body["source"]) == (
        60,
        "minute",
    )  # 30 s would need raw samples, gone after 14 days
    assert [(p["min"], p["max"], p["last"], p["count"]) for p in body["series"][0]["points"]] == [
        (50.0, 60.0, 50.0, 2),
        (-10.0, -10.0, -10.0, 1),
    ]


async def test_fleet_form_orders_robots_by_their_lowest_or_highest(api, fleet):
    start = _start()
    for robot, values in {"f1": (80, 20, 70), "f2": (50, 45), "f3": (90, 99), "f4": (10,)}.items():
        for n, value in enumerate(values):
            await fleet.publish(
                EventType.BATTERY, robot, {"percentage": value}, at=start + timedelta(minutes=n)
            )
    await fleet.applied()
    # Over six hours: the hour rollups, from the hour holding `from`.
    params = {"metric": "battery.percentage", "from": (start - timedelta(hours=9)).isoformat(), "limit": "3"}
    body = await (await api.get(f"{API}/history/fleet", params=params)).json()
    assert (body["metric"], body["unit"], body["order"], body["source"]) == (
        "battery.percentage",
        "%",
        "lowest",
        "hour",
    )
    assert [(r["robot_id"], r["min"], r["last"], r["count"]) for r in body["robots"]] == [
        ("f4", 10.0, 10.0, 1),
        ("f1", 20.0, 70.0, 3),
        ("f2", 45.0, 45.0, 2),
    ]
    short = {
        **params,
        "order": "highest",
        "from": start.isoformat(),
        "to": (start + timedelta(hours=1)).isoformat(),
    }
    body = await (await api.get(f"{API}/history/fleet", params=short)).json()
    assert body["source"] == "minute"
    assert [(r["robot_id"], r["max"]) for r in body["robots"]] == [("f3", 99.0), ("f1", 80.0), ("f2", 50.0)]


async def test_unknown_metrics_bad_ranges_and_steps_are_422_with_a_reason(api, fleet):
    await fleet.publish(EventType.BATTERY, "v1", {"percentage": 1.0})
    await fleet.applied()
    now = datetime.now(UTC)
    cases = {
        (("metric", "battery.nope"),): "unknown metric 'battery.nope'",
        (("metric", "servo.33.temperature"),): "unknown metric",
        (): "Field required",
        (
            ("metric", "cpu.percent"),
            ("from", now.isoformat()),
            ("to", (now - timedelta(hours=1)).isoformat()),
        ): "must be before",
        (("metric", "cpu.percent"), ("from", (now - timedelta(days=800)).isoformat())): "at most 731 days",
        (("metric", "cpu.percent"), ("step", "1")): "at most 1500",
        (("metric", "cpu.percent"), ("step", "-5")): "whole seconds",
        (("metric", "cpu.percent"), ("from", "yesterday")): "",
        tuple(("metric", f"servo.{i}.position") for i in range(1, 18)): "at most 16",
    }
    for params, reason in cases.items():
        response = await api.get(f"{API}/robots/v1/history", params=list(params))
        assert response.status == 422, params
        assert reason in str((await response.json())["detail"]), (params, await response.text())
    response = await api.get(f"{API}/robots/nobody/history", params={"metric": "cpu.percent"})
    assert (response.status, await response.json()) == (404, {"detail": "Robot not found"})
    response = await api.get(f"{API}/history/fleet", params={"metric": "cpu.percent", "order": "middle"})
    assert response.status == 422


async def test_history_needs_a_token(anonymous_api):
    response = await anonymous_api.get(f"{API}/robots/v1/history", params={"metric": "cpu.percent"})
    assert response.status == 401


async def test_history_export_streams_raw_samples_or_the_rollups_kept(api, fleet):
    start = _start()
    await _cpu_minutes(fleet, "hx1", start)
    await fleet.publish(EventType.BATTERY, "hx1", {"percentage": 50.0}, at=start + timedelta(seconds=30))
    await fleet.applied()
    rng = {"from": start.isoformat(), "to": (start + timedelta(minutes=3)).isoformat()}

    params = {**rng, "metric": "battery.percentage,cpu.temperature", "format": "jsonl"}
    response = await api.get(f"{API}/robots/hx1/history/export", params=params)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/x-ndjson"
    rows = [json.loads(line) for line in (await response.text()).splitlines()]
    assert len(rows) == 181  # every raw sample, in the order the metrics were asked
    assert rows[0] == {
        "metric": "battery.percentage",
        "t": (start + timedelta(seconds=30)).isoformat(),
        **dict.fromkeys(("min", "max", "mean", "last"), 50.0),
        "count": 1,
    }
    cpu = rows[1:]
    assert [datetime.fromisoformat(r["t"]) for r in cpu] == [start + timedelta(seconds=s) for s in range(180)]
    assert cpu[100]["max"] == 95.0

    response = await api.get(f"{API}/robots/hx1/history/export", params={**rng, "metric": "cpu.temperature"})
    assert response.content_type == "text/csv"
    table = list(csv.reader(io.StringIO(await response.text())))
    assert table[0] == ["metric", "t", "min", "max", "mean", "last", "count"]
    assert len(table) == 181 and table[101][3] == "95.0"


async def test_history_export_beyond_raw_retention_gives_minute_rows(api, fleet):
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=20)
    for s in (0, 10, 70):
        await fleet.publish(
            EventType.BATTERY, "hx_old", {"percentage": 60.0 - s}, at=start + timedelta(seconds=s)
        )
    await fleet.applied()
    params = {
        "metric": "battery.percentage",
        "from": start.isoformat(),
        "to": (start + timedelta(minutes=5)).isoformat(),
        "format": "jsonl",
    }
    response = await api.get(f"{API}/robots/hx_old/history/export", params=params)
    rows = [json.loads(line) for line in (await response.text()).splitlines()]
    assert [(r["t"], r["min"], r["max"], r["last"], r["count"]) for r in rows] == [
        (start.isoformat(), 50.0, 60.0, 50.0, 2),
        ((start + timedelta(minutes=1)).isoformat(), -10.0, -10.0, -10.0, 1),
    ]


async def test_history_export_refuses_with_a_reason(api, projector):
    response = await api.get(f"{API}/robots/nobody/history/export", params={"metric": "cpu.percent"})
    assert response.status == 404
    for params in ({"metric": "nope"}, {"metric": "cpu.percent", "format": "xml"}, {}):
        response = await api.get(f"{API}/robots/nobody/history/export", params=params)
        assert response.status == 422, params
