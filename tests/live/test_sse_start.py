"""A fresh stream says where it starts (an id-only block, which dispatches no event): a
client that drops before its first record resumes from there, so what happened while it was
away is not lost."""

from __future__ import annotations

from tests.query.conftest import API

from .conftest import SseReader


async def test_a_fresh_stream_names_its_start_and_resuming_from_it_misses_nothing(api, fleet_api):
    before = await fleet_api.log("s1", "before")
    await fleet_api.applied()
    response = await api.get(f"{API}/events")
    assert await response.content.readuntil(b"retry: 1000\n\n")
    start = (await response.content.readuntil(b"\n\n")).decode()
    assert start.startswith("id:") and start.endswith("\n\n"), start
    position = int(start[3:].strip())  # the replica's position (it may not have read `before` yet)
    response.close()  # gone before any record arrived

    missed = await fleet_api.log("s1", "while away")
    await fleet_api.applied()
    resumed = SseReader(await api.get(f"{API}/events", headers={"Last-Event-ID": str(position)}))
    records = [await resumed.next()]
    while records[-1].id < missed:
        records.append(await resumed.next())
    assert [r.id for r in records] == [seq for seq in (before, missed) if seq > position]
    assert records[-1].data["data"]["rows"]["logs"][-1]["message"] == "while away"
    resumed.response.close()
