"""GET /schedules/{id}/firings pages (docs/schedules.md): `limit` (default 100, at most
1000) and a keyset `before` cursor on (due_at, robot_id) carried by the Link header; ties
on one occurrence across robots (any robot id, even with a `|`) split cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from .conftest import API
from .test_logs_jobs import NEXT, all_pages

ROBOTS = ("fp_a", "fp|b", "fp_c")
OCCURRENCES = 34  # 102 firings: one more page than the default 100


async def _schedule_with_firings(api, fleet, database_url: str) -> str:
    for robot in ROBOTS:
        await fleet.status(robot, hardware_available=False)  # a gen-2 simulator: takes start_job
    await fleet.applied()
    body = {"robot_ids": list(ROBOTS), "task_name": "Night shift", "items_total": 1, "cron": "0 22 * * 1-5"}
    resp = await api.post(f"{API}/schedules", json=body)
    assert resp.status == 201, await resp.text()
    sid = (await resp.json())["schedule_id"]
    first = datetime(2026, 1, 5, 22, tzinfo=UTC)
    rows = [
        (
            f"{sid}-{n}-{i}",
            sid,
            robot,
            first + timedelta(days=n),
            first + timedelta(days=n),
            n,
            "missed",
            "offline",
        )
        for n in range(OCCURRENCES)
        for i, robot in enumerate(ROBOTS)
    ]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO schedule_firings (command_id, schedule_id, robot_id, due_at, fired_at, seq, state, "
            "updated_at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, now(), $8)",
            rows,
        )
    finally:
        await conn.close()
    return sid


async def test_firings_are_paged_newest_first_by_a_link(api, fleet, database_url):
    sid = await _schedule_with_firings(api, fleet, database_url)
    path = f"{API}/schedules/{sid}/firings"

    first = await api.get(path)
    assert first.status == 200, await first.text()
    assert len(await first.json()) == 100 and NEXT.match(first.headers["Link"])

    rows, pages = await all_pages(api, path, {"limit": "7"})
    assert pages == 15  # 14 full pages and the last holding 4
    keys = [(r["due_at"], r["robot_id"]) for r in rows]
    expected = sorted(
        ((datetime(2026, 1, 5, 22, tzinfo=UTC) + timedelta(days=n)).isoformat(), robot)
        for n in range(OCCURRENCES)
        for robot in ROBOTS
    )
    assert keys == sorted(expected, key=lambda k: (-datetime.fromisoformat(k[0]).timestamp(), k[1]))

    rest, pages = await all_pages(api, path, {"limit": "1000"})
    assert (len(rest), pages) == (102, 1)


async def test_firings_refuse_a_bad_page(api, fleet, database_url):
    sid = await _schedule_with_firings(api, fleet, database_url)
    path = f"{API}/schedules/{sid}/firings"
    for params in ({"limit": "0"}, {"limit": "1001"}, {"before": "bm90aGluZw"}, {"before": "a+b"}):
        response = await api.get(path, params=params)
        assert response.status == 422, params
