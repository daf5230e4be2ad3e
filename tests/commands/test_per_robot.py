"""Commands settled per robot (issue 16 row 4, issue 17 rows 2-8), through the real ingest and
projector, with robots sending exactly what the real clients send (simulated robots from
`tonypi simulate`'s code, or MQTT messages shaped as the clients shape them)."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import datetime

import aiohttp
import aiomqtt
from tonypi_cli import fleet

from tests.conftest import MQTT_URL

from .conftest import API, until


async def _robot(api, robot_id: str) -> dict | None:
    resp = await api.get(f"{API}/robots/{robot_id}")
    return await resp.json() if resp.status == 200 else None


async def _online(api, robot_id: str) -> bool:
    robot = await _robot(api, robot_id)
    return bool(robot and robot["online"] and robot["firmware"])


async def _command(api, command_id: str) -> dict:
    return await (await api.get(f"{API}/commands/{command_id}")).json()


async def _final(api, location: str) -> dict:
    return await (await api.get(location + "?wait=10")).json()


async def _logs(api, category: str, robot_id: str | None = None) -> list[str]:
    query = f"{API}/logs?category={category}&limit=200" + (f"&robot_id={robot_id}" if robot_id else "")
    return [line["message"] for line in await (await api.get(query)).json()]


async def _publish(prefix: str, topic: str, payload: dict) -> None:
    """One message as a robot's client publishes it."""
    host, port = MQTT_URL.rsplit("//", 1)[1].split(":")
    async with aiomqtt.Client(host, int(port)) as client:
        await client.publish(prefix + topic, json.dumps(payload), qos=1)


def _ts() -> str:
    return datetime.now().isoformat()


async def _dropped(env: dict[str, str], reason: str) -> float:
    """The projector's count of answers dropped for `reason` (its /metrics)."""
    url = f"http://127.0.0.1:{env['PROJECTOR_PORT']}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        text = await resp.text()
    name = f'tonypi_projector_command_answers_dropped_total{{reason="{reason}"}}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


async def _command_state(api, command_id: str, state: str):
    body = await _command(api, command_id)
    return body if body["state"] == state else None


async def test_an_answer_settles_only_its_own_robots_sent_command(
    api, ingests, observer, fleet_api, mqtt_prefix, stack_env
):
    """Issue 16 row 4: robot A answering with B's command id, or anyone answering a command
    never sent, changes nothing; B's own answer still settles it."""
    await ingests.start()
    for robot_id in ("ansA", "ansB"):
        await fleet_api.status(robot_id, ip_address="10.0.0.9", hardware_available=True)
        await until(lambda robot_id=robot_id: _online(api, robot_id))
    move = await (
        await api.post(f"{API}/robots/ansB/commands", json={"type": "move", "timeout_s": 60})
    ).json()
    stop = await (await api.post(f"{API}/robots/ansB/emergency-stop", json={})).json()
    for command in (move, stop):
        await observer.wait_for(lambda c=command: observer.sent(c["command_id"]))
        await until(lambda c=command: _command_state(api, c["command_id"], "sent"))
    # A answers both of B's commands, on both answer topics, as a robot answers its own.
    for command_id in (move["command_id"], stop["command_id"]):
        answer = {
            "robot_id": "ansA",
            "command_id": command_id,
            "success": True,
            "message": "ok",
            "timestamp": _ts(),
        }
        await _publish(mqtt_prefix, "tonypi/commands/response", answer)
        await _publish(mqtt_prefix, "tonypi/emergency_stop/response", answer)
    await until(lambda: _at_least(_dropped(stack_env, "other_robot"), 4))
    for command in (move, stop):
        body = await _command(api, command["command_id"])
        assert body["state"] == "sent" and body["response"] is None, body
    assert not [m for m in await _logs(api, "command", "ansA") if move["command_id"] in m]

    # A command never sent (held for an offline robot): its robot's answer changes nothing either.
    await fleet_api.status("ansW", "offline")
    await until(lambda: _robot(api, "ansW"))
    held = await (await api.post(f"{API}/robots/ansW/commands", json={"type": "move", "wait": True})).json()
    answer = {"robot_id": "ansW", "command_id": held["command_id"], "success": True, "timestamp": _ts()}
    await _publish(mqtt_prefix, "tonypi/commands/response", answer)
    await until(lambda: _at_least(_dropped(stack_env, "not_sent"), 1))
    body = await _command(api, held["command_id"])
    assert body["state"] == "requested" and body["sent_at"] is None and body["response"] is None, body

    # B's own answer settles B's command.
    answer = {"robot_id": "ansB", "command_id": move["command_id"], "success": True, "timestamp": _ts()}
    await _publish(mqtt_prefix, "tonypi/commands/response", answer)
    done = await until(lambda: _command_state(api, move["command_id"], "succeeded"))
    assert done["outcomes"] == {"ansB": {"outcome": "confirmed"}}


async def _at_least(count, n: float) -> bool:
    return (await count) >= n


def _gen1_status(robot_id: str) -> dict:
    """A gen-1 client's status, as `tonypi simulate` (and the client) builds it."""
    return fleet.status(fleet.Robot(robot_id, 1), datetime.now(), random.Random(1)).payload


def _gen2_status(robot_id: str, **extra) -> dict:
    """The gen-2 simulator's status (`hardware_available: false`); the hardware client's says true."""
    return {**fleet.status(fleet.Robot(robot_id, 2), datetime.now(), random.Random(1)).payload, **extra}


async def test_a_mixed_fleet_stop_resume_and_head_nod_report_each_robot(
    api, ingests, robots, observer, mqtt_prefix
):
    """Issue 17 rows 2-6 and 8 on one gen-1 and one gen-2 robot, both simulated."""
    await ingests.start()
    gen1, gen2 = robots.start("mixG1", generation=1), robots.start("mixG2", generation=2)
    for robot_id in ("mixG1", "mixG2"):
        await until(lambda robot_id=robot_id: _online(api, robot_id))
    assert (await _robot(api, "mixG1"))["firmware"] == "gen1"
    assert (await _robot(api, "mixG2"))["firmware"] == "gen2_sim"  # the simulator says it has no hardware

    # Rows 5 and 2: the fleet stop reaches gen 2 as an emergency stop and gen 1 as its `stop`;
    # the read says so per robot, and the whole is partial, not succeeded.
    resp = await api.post(f"{API}/emergency-stop", json={"reason": "drill"})
    press = await _final(api, resp.headers["Location"])
    assert press["state"] == "partial", press
    assert press["outcomes"]["mixG2"]["outcome"] == "confirmed"
    assert press["outcomes"]["mixG1"] == {"outcome": "stopped", "via": "stop", "message": "stop executed"}
    sent = {m.topic: m.payload for m in observer.sent(press["command_id"])}
    assert sent == {
        "tonypi/emergency_stop/broadcast": {
            "type": "emergency_stop",
            "reason": "drill",
            "id": press["command_id"],
        },
        "tonypi/commands/mixG1": {"type": "stop", "id": press["command_id"]},
    }
    assert gen2.emergency_stopped
    # Row 2: gen 2 answered on both answer topics; one line per robot's answer.
    lines = [m for m in await _logs(api, "command") if press["command_id"] in m]
    assert sorted(lines) == sorted(
        [
            f"Emergency stop {press['command_id']} succeeded on mixG2: emergency stop engaged",
            f"Command {press['command_id']} succeeded on mixG1: stop executed",
        ]
    ), lines

    # Row 4: gen-1 statuses while the stop holds send it nothing and warn of nothing. A gen-2
    # robot coming back without the stop, published after them, is re-sent it: once that is
    # seen, ingest has followed the gen-1 statuses too (one ordered consumer follows statuses).
    for _ in range(2):
        await _publish(mqtt_prefix, "tonypi/status/mixG1", _gen1_status("mixG1"))
    await _publish(mqtt_prefix, "tonypi/status/mixG2", _gen2_status("mixG2", status="offline"))
    await _publish(mqtt_prefix, "tonypi/status/mixG2", _gen2_status("mixG2"))
    await observer.wait_for(
        lambda: any(m.topic == "tonypi/emergency_stop/mixG2" for m in observer.sent(press["command_id"]))
    )
    assert [m.topic for m in observer.sent(press["command_id"]) if "mixG1" in m.topic] == [
        "tonypi/commands/mixG1"
    ]
    assert not [m for m in await _logs(api, "emergency_stop") if "re-sent to mixG1" in m]

    # Row 6: the fleet resume goes to gen 2 only; gen 1 has nothing to release (unsupported).
    resp = await api.post(f"{API}/resume", json={})
    resume = await _final(api, resp.headers["Location"])
    assert resume["state"] == "partial", resume
    assert resume["outcomes"]["mixG1"] == {"outcome": "unsupported"}
    assert resume["outcomes"]["mixG2"]["outcome"] == "confirmed"
    assert [m.topic for m in observer.sent(resume["command_id"])] == ["tonypi/commands/mixG2"]
    await until(lambda: asyncio.sleep(0, not gen2.emergency_stopped))

    # Row 3: a resume with nothing latched says so.
    resp = await api.post(f"{API}/robots/mixG2/resume", json={})
    assert resp.status == 201
    await until(lambda: _has(api, "emergency_stop", "Resume for mixG2 by", "no emergency stop was latched"))

    # Row 8 on the fleet: head_nod goes to the robots that take it and says which could not.
    resp = await api.post(f"{API}/commands", json={"type": "head_nod"})
    nod = await _final(api, resp.headers["Location"])
    assert nod["state"] == "partial" and nod["outcomes"]["mixG1"] == {"outcome": "unsupported"}, nod
    assert [m.topic for m in observer.sent(nod["command_id"])] == ["tonypi/commands/mixG2"]
    assert gen1.item_counter >= 0  # the gen-1 robot ran throughout


async def _has(api, category: str, *parts: str) -> bool:
    return any(all(p in m for p in parts) for m in await _logs(api, category))


async def test_a_job_dispatched_to_a_simulator_is_linked_to_its_command(
    api, ingests, observer, mqtt_prefix, fleet_api
):
    """Row 7: start_job, stop_job, set_servo reach a gen-2 simulator; the job it then reports
    carries the command's id in /jobs. A gen-2 robot on hardware is refused them."""
    await ingests.start()
    await _publish(mqtt_prefix, "tonypi/status/simA", _gen2_status("simA", hardware_available=False))
    await _publish(mqtt_prefix, "tonypi/status/hwA", _gen2_status("hwA", hardware_available=True))
    await until(lambda: _online(api, "simA"))
    await until(lambda: _online(api, "hwA"))
    assert (await _robot(api, "simA"))["firmware"] == "gen2_sim"

    start = {"type": "start_job", "params": {"task_name": "Pick", "items_total": 3}}
    refused = await api.post(f"{API}/robots/hwA/commands", json=start)
    assert refused.status == 422 and "gen2 firmware" in (await refused.json())["detail"][0]["msg"]
    bad = await api.post(
        f"{API}/robots/simA/commands", json={"type": "set_servo", "params": {"servo_id": 1, "position": 91}}
    )
    assert bad.status == 422, await bad.text()

    created = await (await api.post(f"{API}/robots/simA/commands", json=start)).json()
    await observer.wait_for(lambda: observer.sent(created["command_id"]))
    [sent] = observer.sent(created["command_id"])
    assert sent.topic == "tonypi/commands/simA"
    assert sent.payload == {
        "type": "start_job",
        "id": created["command_id"],
        "task_name": "Pick",
        "items_total": 3,
    }
    await until(lambda: _command_state(api, created["command_id"], "sent"))
    # The simulator answers, then announces the job it started.
    now = _ts()
    answer = {
        "robot_id": "simA",
        "command_id": created["command_id"],
        "success": True,
        "message": "start_job executed",
        "timestamp": now,
    }
    await _publish(mqtt_prefix, "tonypi/commands/response", answer)
    job = {
        "robot_id": "simA",
        "status": "started",
        "task_name": "Pick",
        "start_time": now,
        "items_total": 3,
        "items_done": 0,
        "percent": 0.0,
        "phase": "scanning",
        "timestamp": now,
    }
    await _publish(mqtt_prefix, "tonypi/job/simA", job)

    async def linked():
        jobs = await (await api.get(f"{API}/jobs/history?robot_id=simA")).json()
        return jobs if jobs and jobs[0]["command_id"] == created["command_id"] else None

    [row] = await until(linked)
    assert (row["task_name"], row["items_total"], row["status"]) == ("Pick", 3, "active")
    assert (await _command(api, created["command_id"]))["state"] == "succeeded"
    for command in ({"type": "stop_job"}, {"type": "set_servo", "params": {"servo_id": 2, "position": -45}}):
        resp = await api.post(f"{API}/robots/simA/commands", json=command)
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        await observer.wait_for(lambda body=body: observer.sent(body["command_id"]))
