"""Beyond the seed: log and job filters, keyset pagination with Link headers, search, one job."""

from __future__ import annotations

import re
from datetime import timedelta

from .conftest import API
from .events import minutes_ago

NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


async def all_pages(api, path: str, params: dict) -> tuple[list[dict], int]:
    """Follow Link headers to the end; returns the rows and how many pages it took."""
    rows, pages = [], 0
    response = await api.get(path, params=params)
    while True:
        assert response.status == 200, await response.text()
        rows.extend(await response.json())
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            return rows, pages
        target = NEXT.match(link).group(1)
        assert target.startswith(path)
        response = await api.get(target)


async def test_logs_pages_cover_everything_once_in_a_stable_order(api, fleet):
    same_time = minutes_ago(30)
    for n in range(7):  # seven lines sharing one timestamp: the id breaks the tie
        await fleet.log("pager", f"tick {n}", at=same_time)
    for n in range(5):
        await fleet.log("pager", f"later {n}", at=minutes_ago(20 - n))
    await fleet.applied()
    mine = {"robot_id": "pager", "category": "robot_main"}
    whole = await (await api.get(f"{API}/logs", params={**mine, "limit": "1000"})).json()
    assert len(whole) == 12
    rows, pages = await all_pages(api, f"{API}/logs", {**mine, "limit": "5"})
    assert pages == 3
    assert [r["id"] for r in rows] == [r["id"] for r in whole]
    keys = [(r["timestamp"], r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)
    # a new line arriving while paging does not shift the later pages
    first = await api.get(f"{API}/logs", params={**mine, "limit": "5"})
    await fleet.log("pager", "newest")
    await fleet.applied()
    second = await (await api.get(NEXT.match(first.headers["Link"]).group(1))).json()
    assert [r["id"] for r in second] == [r["id"] for r in whole[5:10]]


async def test_log_filters(api, fleet):
    await fleet.log("f1", "Battery LOW: 15% left", level="WARNING", at=minutes_ago(50))
    await fleet.log("f1", "all good", level="INFO", at=minutes_ago(40))
    await fleet.log("f2", "battery fine", level="INFO", at=minutes_ago(30))
    await fleet.log("f2", "100% done_with 50_percent", level="ERROR", at=minutes_ago(10))
    await fleet.applied()

    async def messages(**params) -> list[str]:
        response = await api.get(f"{API}/logs", params={k: str(v) for k, v in params.items()})
        assert response.status == 200
        return [r["message"] for r in await response.json() if r["category"] == "robot_main"]

    assert await messages(level="warning") == ["Battery LOW: 15% left"]  # compared upper-cased
    assert await messages(q="battery") == ["battery fine", "Battery LOW: 15% left"]
    assert await messages(q="%") == ["100% done_with 50_percent", "Battery LOW: 15% left"]  # % is literal
    assert await messages(q="e_w") == ["100% done_with 50_percent"]  # _ is literal
    assert await messages(since=minutes_ago(45).isoformat()) == [
        "100% done_with 50_percent",
        "battery fine",
        "all good",
    ]
    assert await messages(until=minutes_ago(35).isoformat(), robot_id="f1") == [
        "all good",
        "Battery LOW: 15% left",
    ]
    assert await messages(
        since=minutes_ago(45).isoformat(), until=minutes_ago(20).isoformat(), q="BATTERY"
    ) == ["battery fine"]
    empty = await api.get(f"{API}/logs", params={"limit": "0"})
    assert await empty.json() == [] and "Link" not in empty.headers


async def test_jobs_filters_pagination_and_one_job(api, fleet):
    start = minutes_ago(60)
    for n in range(6):
        at = start + timedelta(minutes=5 * n)
        await fleet.job("worker", "started", at=at, task_name=f"task {n}")
        ending = "completed" if n % 2 == 0 else "failed"
        await fleet.job(
            "worker",
            ending,
            at=at + timedelta(minutes=1),
            task_name=f"task {n}",
            reason=None if ending == "completed" else "dropped the box",
        )
    await fleet.job("other", "started", task_name="now")
    await fleet.applied()

    rows, pages = await all_pages(api, f"{API}/jobs/history", {"robot_id": "worker", "limit": "4"})
    assert pages == 2 and len(rows) == 6
    assert [r["task_name"] for r in rows] == [f"task {n}" for n in reversed(range(6))]

    failed = await (await api.get(f"{API}/jobs/history", params={"status": "failed"})).json()
    assert [r["task_name"] for r in failed] == ["task 5", "task 3", "task 1"]
    assert {r["reason"] for r in failed} == {"dropped the box"}
    active = await (await api.get(f"{API}/jobs/history", params={"status": "active"})).json()
    assert [r["robot_id"] for r in active] == ["other"]
    window = await (
        await api.get(
            f"{API}/jobs/history",
            params={
                "since": (start + timedelta(minutes=9)).isoformat(),
                "until": (start + timedelta(minutes=21)).isoformat(),
            },
        )
    ).json()
    assert [r["task_name"] for r in window] == ["task 4", "task 3", "task 2"]

    one = await api.get(f"{API}/jobs/{rows[0]['id']}")
    assert one.status == 200 and await one.json() == rows[0]
    assert rows[0]["start_time"].endswith("+00:00") and rows[0]["end_time"].endswith("+00:00")
    missing = await api.get(f"{API}/jobs/{10**12}")
    assert (missing.status, await missing.json()) == (404, {"detail": "Job not found"})
