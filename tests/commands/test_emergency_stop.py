"""The emergency stop: latched in our tables until resumed, sent again to a robot that
restarted and forgot it, kept across query and ingest restarts, and for the whole fleet."""

from __future__ import annotations

import asyncio

from .conftest import API, until


async def _online(api, robot_id: str) -> bool:
    resp = await api.get(f"{API}/robots/{robot_id}")
    return resp.status == 200 and (await resp.json())["online"]


async def _outcome(api, location: str) -> dict:
    return await (await api.get(location + "?wait=10")).json()


async def _sent_count(api, command_id: str, count: int) -> bool:
    return (await (await api.get(f"{API}/commands/{command_id}")).json())["sent_count"] == count


async def _latch(api, robot_id: str) -> dict | None:
    latches = await (await api.get(f"{API}/emergency-stops")).json()
    return next((latch for latch in latches if latch["robot_id"] == robot_id), None)


async def _estop_alarm(api, robot_id: str) -> dict | None:
    query = f"{API}/alarms?robot_id={robot_id}&kind=emergency_stop"
    alarms = await (await api.get(query)).json()
    return alarms[0] if alarms else None


async def test_stop_is_latched_resent_after_restart_and_released_by_resume(
    api, ingests, robots, observer, stack_env
):
    await ingests.start()
    robot = robots.start("estop1", generation=2)
    await until(lambda: _online(api, "estop1"))

    resp = await api.post(f"{API}/robots/estop1/emergency-stop", json={"reason": "person in the aisle"})
    assert resp.status == 201, await resp.text()
    press = await _outcome(api, resp.headers["Location"])
    assert press["type"] == "emergency_stop" and press["state"] == "succeeded", press
    [sent] = observer.sent(press["command_id"])
    assert sent.topic == "tonypi/emergency_stop/estop1" and sent.qos == 1
    assert sent.payload == {
        "type": "emergency_stop",
        "reason": "person in the aisle",
        "id": press["command_id"],
    }
    assert robot.emergency_stopped
    latch = await _latch(api, "estop1")
    assert latch["engaged"] and latch["actor"]["role"] == "operator"  # the client's token (issue 11)
    alarm = await until(lambda: _estop_alarm(api, "estop1"))
    assert alarm["state"] == "open" and alarm["severity"] == "critical", alarm

    # While stopped, the robot refuses a move (and our state says failed, with its reason).
    move = await api.post(f"{API}/robots/estop1/commands", json={"type": "move"})
    refused = await _outcome(api, move.headers["Location"])
    assert refused["state"] == "failed" and "Emergency stop" in refused["response"]["message"]

    # The robot restarts and forgets: ingest sees its status without the stop and sends it again.
    await robots.stop("estop1")
    fresh = robots.start("estop1", generation=2)
    assert not fresh.emergency_stopped
    await observer.wait_for(lambda: len(observer.sent(press["command_id"])) == 2)
    await until(lambda: asyncio.sleep(0, fresh.emergency_stopped))
    await until(lambda: _sent_count(api, press["command_id"], 2))

    # A query restart and an ingest restart change nothing: the latch is in the stream and tables.
    await api.close()
    from tests.query.conftest import _serve

    api = await _serve(stack_env)
    try:
        assert (await _latch(api, "estop1"))["engaged"]
        ingests.stop()
        await ingests.start()
        await robots.stop("estop1")
        again = robots.start("estop1", generation=2)
        await observer.wait_for(lambda: len(observer.sent(press["command_id"])) == 3)
        await until(lambda: asyncio.sleep(0, again.emergency_stopped))
        await until(lambda: _sent_count(api, press["command_id"], 3))

        # The alarm stayed open through both restarts; wait for the robot's answer to the
        # resend to be applied (else the resume may clear it and that late answer raise a new one).
        async def reported_again():
            found = await _estop_alarm(api, "estop1")
            return found if found["state"] == "open" and found["details"]["reported"] else None

        assert (await until(reported_again))["id"] == alarm["id"]
        resp = await api.post(f"{API}/robots/estop1/resume", json={})
        resumed = await _outcome(api, resp.headers["Location"])
        assert resumed["type"] == "resume" and resumed["state"] == "succeeded"
        assert not again.emergency_stopped and not (await _latch(api, "estop1"))["engaged"]
        move = await api.post(f"{API}/robots/estop1/commands", json={"type": "move"})
        assert (await _outcome(api, move.headers["Location"]))["state"] == "succeeded"

        # One alarm through both restarts (the latch held it while the robot said it ran),
        # cleared once resumed and the robot reported running.
        async def cleared():
            found = await _estop_alarm(api, "estop1")
            return found if found["state"] == "cleared" else None

        done = await until(cleared)
        assert done["id"] == alarm["id"]
        history = await (await api.get(f"{API}/alarms/{alarm['id']}")).json()
        assert [t["action"] for t in history["transitions"]] == ["raised", "cleared"], history
        logs = await (await api.get(f"{API}/logs?category=emergency_stop&robot_id=estop1")).json()
        messages = [line["message"] for line in logs]
        assert any(
            "engaged for estop1 by test-operator-" in m and "person in the aisle" in m for m in messages
        )
        assert any("released (resume) for estop1 by test-operator-" in m for m in messages)
        assert sum("re-sent to estop1" in m for m in messages) == 2
    finally:
        await api.close()


async def test_broadcast_stop_reaches_every_robot(api, ingests, robots, observer):
    await ingests.start()
    fleet = {robot_id: robots.start(robot_id, generation=2) for robot_id in ("bc1", "bc2", "bc3")}
    for robot_id in fleet:
        await until(lambda robot_id=robot_id: _online(api, robot_id))
    resp = await api.post(f"{API}/emergency-stop", json={"reason": "fire drill"})
    assert resp.status == 201
    press = await resp.json()
    assert press["robot_id"] == "_fleet"
    await until(lambda: asyncio.sleep(0, all(r.emergency_stopped for r in fleet.values())))
    [sent] = observer.sent(press["command_id"])
    assert sent.topic == "tonypi/emergency_stop/broadcast" and sent.qos == 1

    async def answered_by_all():
        body = await (await api.get(f"{API}/commands/{press['command_id']}")).json()
        return body if set(body["response"] or {}) == set(fleet) else None

    await until(answered_by_all)
    # A robot cannot be resumed alone while the whole fleet is stopped.
    assert (await api.post(f"{API}/robots/bc1/resume", json={})).status == 409
    resp = await api.post(f"{API}/resume", json={})
    assert resp.status == 201
    await until(lambda: asyncio.sleep(0, not any(r.emergency_stopped for r in fleet.values())))
