"""Every command type the gen-2 simulator takes, to a simulated one and back: sent once at QoS 1,
answered, succeeded. Types with required params (start_job, set_servo) carry valid ones."""

from __future__ import annotations

from tonypi_events.commanding import SIMULATOR_COMMANDS

from .conftest import API, until


async def _online(api, robot_id: str) -> bool:
    resp = await api.get(f"{API}/robots/{robot_id}")
    return resp.status == 200 and (await resp.json())["online"]


# What each type is sent with: free-form params for the types the API passes through, the
# checked ones for the job and servo types (start_job before stop_job: there is a job to stop).
PARAMS = {
    "start_job": {"task_name": "Round trip", "items_total": 3},
    "stop_job": {},
    "set_servo": {"servo_id": 2, "position": -45.5},
}
TYPES = [t for t in SIMULATOR_COMMANDS if t != "resume"]


async def test_each_command_type_round_trips(api, ingests, robots, observer):
    await ingests.start()
    robot = robots.start("cmd_gen2", generation=2)
    await until(lambda: _online(api, "cmd_gen2"))
    assert (await (await api.get(f"{API}/robots/cmd_gen2")).json())["firmware"] == "gen2_sim"
    for command_type in TYPES:
        params = PARAMS.get(command_type, {"speed": 1})
        resp = await api.post(
            f"{API}/robots/cmd_gen2/commands", json={"type": command_type, "params": params}
        )
        assert resp.status == 201, await resp.text()
        created = await resp.json()
        assert created["state"] in ("requested", "sent", "succeeded")
        # Who asked: the client's operator token (tests.query.conftest._serve), issue 11.
        assert created["actor"]["role"] == "operator" and created["actor"]["name"].startswith("test-operator")
        assert resp.headers["Location"] == f"{API}/commands/{created['command_id']}"
        done = await (await api.get(resp.headers["Location"] + "?wait=10")).json()
        assert done["state"] == "succeeded", done
        assert done["response"]["success"] is True and done["sent_count"] == 1
        [sent] = observer.sent(created["command_id"])  # once
        assert sent.topic == "tonypi/commands/cmd_gen2" and sent.qos == 1
        assert sent.payload == {"type": command_type, "id": created["command_id"], **params}
    history = await (await api.get(f"{API}/robots/cmd_gen2/commands?limit=100")).json()
    assert [h["type"] for h in reversed(history)] == TYPES
    # The simulated robot did what it was told: the job it was given, stopped; the servo set.
    assert robot.job is not None and robot.job.task_name == "Round trip" and robot.job.status != "working"
    assert robot.servo_positions == {2: -45.5}


async def test_unanswered_command_times_out_and_offline_robot_expires(
    api, ingests, robots, observer, fleet_api
):
    await ingests.start()
    # A gen 1 robot would answer head_nod "Unknown command": the API knows, and refuses (issue 17 row 8).
    robots.start("cmd_gen1", generation=1)
    await until(lambda: _online(api, "cmd_gen1"))
    resp = await api.post(f"{API}/robots/cmd_gen1/commands", json={"type": "head_nod"})
    assert resp.status == 422, await resp.text()
    [issue] = (await resp.json())["detail"]
    assert issue["type"] == "unsupported_command" and "gen1" in issue["msg"] and "head_nod" in issue["msg"]
    robot = await (await api.get(f"{API}/robots/cmd_gen1")).json()
    assert robot["firmware"] == "gen1" and "head_nod" not in robot["command_types"]
    # A robot that is online in our tables but does not answer: timed out at its deadline.
    await fleet_api.status("silent")
    await until(lambda: _online(api, "silent"))
    resp = await api.post(f"{API}/robots/silent/commands", json={"type": "move", "timeout_s": 1})
    command = await resp.json()
    await observer.wait_for(lambda: observer.sent(command["command_id"]))
    await fleet_api.status("silent")  # stream time moves on past the deadline
    timed_out = await until(lambda: _state(api, command["command_id"], "timed_out"), timeout=20)
    assert timed_out["finished_at"] == timed_out["deadline"]
    # Offline robot, no wait: expired at once and never sent.
    await fleet_api.status("gone", "offline")
    await until(lambda: _known(api, "gone"))
    resp = await api.post(f"{API}/robots/gone/commands", json={"type": "move"})
    expired = await resp.json()
    assert resp.status == 201 and expired["state"] == "expired"
    assert observer.sent(expired["command_id"]) == []


async def _state(api, command_id: str, state: str):
    body = await (await api.get(f"{API}/commands/{command_id}")).json()
    return body if body["state"] == state else None


async def _known(api, robot_id: str) -> bool:
    return (await api.get(f"{API}/robots/{robot_id}")).status == 200
