"""Commands settled per robot (issue 16 row 4, issue 17 rows 2-8), through the real ingest and
projector, with robots sending exactly what the real clients send (simulated robots from
`tonypi simulate`'s code, or MQTT messages shaped as the clients shape them)."""

from __future__ import annotations

import json

import aiohttp
import aiomqtt

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
    from datetime import datetime

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
