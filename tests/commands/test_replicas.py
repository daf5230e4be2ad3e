"""Two query replicas take commands and two ingest replicas deliver them: each command
reaches its robot exactly once."""

from __future__ import annotations

import asyncio

from tests.query.conftest import _serve
from tests.support.ports import free_port

from .conftest import API, until


async def test_two_query_and_two_ingest_replicas_deliver_each_command_once(
    api, ingests, robots, observer, stack_env
):
    await ingests.start(2)
    robots.start("rep1", generation=2)
    robots.start("rep2", generation=1)
    second = await _serve({**stack_env, "QUERY_PORT": str(free_port())})
    try:

        async def online(robot_id):
            body = await (await api.get(f"{API}/robots/{robot_id}")).json()
            return body.get("online")

        await until(lambda: online("rep1"))
        await until(lambda: online("rep2"))
        posts = [
            client.post(f"{API}/robots/{robot_id}/commands", json={"type": "status_request"})
            for _ in range(10)
            for client in (api, second)
            for robot_id in ("rep1", "rep2")
        ]
        answers = await asyncio.gather(*posts)
        ids = [(await a.json())["command_id"] for a in answers]
        assert len(set(ids)) == 40
        for command_id in ids:
            body = await (await second.get(f"{API}/commands/{command_id}?wait=10")).json()
            assert body["state"] == "succeeded" and body["sent_count"] == 1, body
        await observer.wait_for(lambda: all(observer.sent(c) for c in ids))
        for command_id in ids:
            assert len(observer.sent(command_id)) == 1
    finally:
        await second.close()
