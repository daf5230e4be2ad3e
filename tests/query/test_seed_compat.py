"""Seed-client compatibility details the contract implies but the other suites do not pin."""

from __future__ import annotations

from .conftest import API


async def test_an_empty_seed_filter_means_no_filter_as_in_the_seed(api, fleet):
    # The seed tested its filters with `if level:`, so a form that sends empty fields
    # (`?level=&category=&robot_id=`) got every line, not a 422.
    await fleet.log("blank1", "first", level="ERROR")
    await fleet.log("blank2", "second", level="INFO")
    await fleet.job("blank1", "started")
    await fleet.applied()
    everything = await (await api.get(f"{API}/logs")).json()
    blank = await api.get(f"{API}/logs", params={"level": "", "category": "", "robot_id": ""})
    assert blank.status == 200, await blank.text()
    assert [r["id"] for r in await blank.json()] == [r["id"] for r in everything]
    assert len(everything) >= 2

    jobs = await (await api.get(f"{API}/jobs/history")).json()
    blank_jobs = await api.get(f"{API}/jobs/history", params={"robot_id": ""})
    assert blank_jobs.status == 200, await blank_jobs.text()
    assert [j["id"] for j in await blank_jobs.json()] == [j["id"] for j in jobs]
    assert len(jobs) == 1


async def test_a_trailing_slash_redirects_as_fastapi_did(api):
    # FastAPI answered `/robots/` with 307 to `/robots`; scripts written against it follow that.
    await api.post(f"{API}/robots", json={"robot_id": "slash"})
    moved = await api.get(f"{API}/robots/", allow_redirects=False)
    assert moved.status == 307
    assert moved.headers["Location"] == f"{API}/robots"
    followed = await api.get(f"{API}/robots/slash/")
    assert followed.status == 200 and (await followed.json())["robot_id"] == "slash"
    assert (await api.get(f"{API}/nothing/", allow_redirects=False)).status == 404  # no target: no redirect


async def test_the_seed_dashboards_origin_may_call_the_api_from_a_browser(api):
    # The seed allowed its dashboard (http://localhost:3001) cross-origin; other origins get no grant.
    dashboard = {"Origin": "http://localhost:3001"}
    preflight = await api.options(
        f"{API}/robots",
        headers={
            **dashboard,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3001"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    # The bearer token's header as well as the JSON body's (issue 11): these two only.
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"

    listed = await api.get(f"{API}/robots", headers=dashboard)
    assert listed.status == 200
    assert listed.headers["Access-Control-Allow-Origin"] == "http://localhost:3001"
    assert "Link" in listed.headers["Access-Control-Expose-Headers"]

    stranger = await api.get(f"{API}/robots", headers={"Origin": "http://evil.example"})
    assert stranger.status == 200 and "Access-Control-Allow-Origin" not in stranger.headers
    refused = await api.options(
        f"{API}/robots", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers
