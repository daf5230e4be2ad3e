"""Issue 18, rows 1 and 2: GET /robots is a bounded page with a `Link` to the next (keyset by
robot id, code point order), filtered by online, status, location and id prefix; /readyz
says whether the database answers, never how busy the reads are."""

from __future__ import annotations

import asyncio
import re
import time

from tonypi_query.keys import READS, SETTINGS

from .conftest import API

IDS = ["B-2", "a-1", "a-2", "b-1", "é-1", "a-3", "c-1"]  # code point order: B < a < b < c < é


def _next(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found, link
    return found.group(1)


async def _all_pages(api, url: str) -> list[list[str]]:
    pages = []
    while url is not None:
        response = await api.get(url)
        assert response.status == 200, await response.text()
        pages.append([r["robot_id"] for r in await response.json()])
        url = _next(response)
    return pages


async def test_pages_filters_and_cursor(api, fleet):
    for n, robot_id in enumerate(IDS):
        await fleet.status(
            robot_id, "offline" if robot_id.startswith("b") else ("busy" if n % 2 else "online")
        )
    await fleet.applied()
    for robot_id in ("a-1", "c-1"):
        put = await api.put(f"{API}/robots/{robot_id}", json={"location": "lab 2"})
        assert put.status == 200
    gone = await api.delete(f"{API}/robots/a-3")
    assert gone.status == 200
    active = sorted((i for i in IDS if i != "a-3"), key=lambda s: s.encode())

    everything = await api.get(f"{API}/robots")  # the seed's call: a JSON array, all of a small fleet
    assert [r["robot_id"] for r in await everything.json()] == active
    assert "Link" not in everything.headers

    pages = await _all_pages(api, f"{API}/robots?limit=2")
    assert pages == [active[0:2], active[2:4], active[4:6], []]  # a full page always links on

    assert await _all_pages(api, f"{API}/robots?online=false&limit=1") == [["b-1"], []]
    assert await _all_pages(api, f"{API}/robots?status=busy") == [["a-1"]]  # a-3 too, but deleted
    assert await _all_pages(api, f"{API}/robots?location=lab%202") == [["a-1", "c-1"]]
    assert await _all_pages(api, f"{API}/robots?prefix=a-&limit=1") == [["a-1"], ["a-2"], []]
    assert await _all_pages(api, f"{API}/robots?prefix=%C3%A9") == [["é-1"]]

    forged = await api.get(f"{API}/robots?after=not-a-cursor!")
    assert forged.status == 422
    too_many = await api.get(f"{API}/robots?limit=1001")
    assert too_many.status == 422
    assert (await too_many.json())["detail"][0]["loc"] == ["query", "limit"]


async def test_readiness_is_not_one_slow_read(api, fleet):
    """Every read slot held by a slow statement: reads queue, /readyz still answers at once."""
    reads = api.app[READS]
    slots = api.app[SETTINGS].pool_max_size
    slow = [asyncio.create_task(reads._fetch("SELECT pg_sleep(2)")) for _ in range(slots)]
    try:
        await asyncio.sleep(0)  # the sleeps take their slots first (the queue is FIFO)
        started = time.monotonic()
        ready = await api.get("/readyz")
        assert ready.status == 200, await ready.text()
        assert time.monotonic() - started < 1.5
        assert not all(task.done() for task in slow)  # it really was answered while they ran
    finally:
        await asyncio.gather(*slow, return_exceptions=True)
