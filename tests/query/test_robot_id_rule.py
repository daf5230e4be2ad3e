"""Issue 8, row 8: the API applies the one robot-id rule (tonypi_events.identity), so every
robot ingest admits (created by its own messages) can be read, updated and deleted by path,
and POST refuses exactly what ingest refuses, with the rule's reason."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from tonypi_events.identity import robot_id_problem

from .conftest import API

ODD_BUT_VALID = ["robot one", "é-ü-日本", "a.b", "50%", "a?b", "a;b=c", "*>", "a\\b", "..a", "x" * 128]
REFUSED = ["a/b", "c36\x00x", "a\r\nb", "x" * 129, "a+b", "a#b", ".", "..", "", "tab\there", "a\u2028b"]
# Issue 16, row 6: the ids the system writes under and the words beside a robot id in topics.
RESERVED = ["_fleet", "_clock", "_tokens", "_unattributed", "_other", "response", "broadcast", "ingest"]


def test_the_lists_agree_with_the_rule():
    assert all(robot_id_problem(r) is None for r in ODD_BUT_VALID)
    assert all(robot_id_problem(r) is not None for r in REFUSED)


async def test_robots_created_by_their_messages_are_addressable(api, fleet):
    for robot_id in ODD_BUT_VALID:
        await fleet.status(robot_id, "online")
    await fleet.applied()
    listed = {r["robot_id"] for r in await (await api.get(f"{API}/robots")).json()}
    assert set(ODD_BUT_VALID) <= listed
    for robot_id in ODD_BUT_VALID:
        path = f"{API}/robots/{quote(robot_id, safe='')}"
        got = await api.get(path)
        assert got.status == 200, (robot_id, await got.text())
        assert (await got.json())["robot_id"] == robot_id
        assert (await api.get(f"{path}/telemetry")).status == 200, robot_id
        put = await api.put(path, json={"description": "seen"})
        assert put.status in (200, 202), (robot_id, await put.text())
        deleted = await api.delete(path)
        assert deleted.status in (200, 202), (robot_id, await deleted.text())


@pytest.mark.parametrize("robot_id", REFUSED + RESERVED, ids=repr)
async def test_post_refuses_what_ingest_refuses_with_the_reason(bare_api, robot_id):
    resp = await bare_api.post(f"{API}/robots", json={"robot_id": robot_id})
    assert resp.status == 422
    [issue] = (await resp.json())["detail"]
    assert issue["loc"] == ["body", "robot_id"]
    assert robot_id_problem(robot_id) in issue["msg"]


@pytest.mark.parametrize("robot_id", RESERVED)
async def test_a_reserved_id_is_refused_in_every_write_path(bare_api, robot_id):
    path = f"{API}/robots/{quote(robot_id, safe='')}"
    for method, url, body in (
        ("PUT", path, {"description": "x"}),
        ("DELETE", path, None),
        ("POST", f"{path}/commands", {"type": "stop"}),
        ("POST", f"{path}/emergency-stop", {}),
        ("POST", f"{path}/resume", None),
    ):
        resp = await bare_api.request(method, url, json=body)
        assert resp.status == 422, (method, url, await resp.text())
        [issue] = (await resp.json())["detail"]
        assert issue["loc"] == ["path", "robot_id"]
        assert "is reserved" in issue["msg"]


async def test_the_fleets_commands_are_still_read_by_its_id(bare_api):
    resp = await bare_api.get(f"{API}/robots/_fleet/commands")
    assert resp.status == 200, await resp.text()
    assert (await bare_api.get(f"{API}/robots/_clock/commands")).status == 422
