"""Dependencies failing under the API: answers are 503 with a reason, never a 500, reads go
on without NATS, and everything recovers by itself. NATS and PostgreSQL here are PRIVATE
servers on free ports (the shared ones are never touched)."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import declare_streams
from tests.support.private_nats import PrivateNats
from tests.support.private_postgres import PrivatePostgres

from .conftest import API, Projector, _serve
from .events import grant_token

pytestmark = pytest.mark.slow  # brokers killed and restarted: leave out with -m 'not slow'


async def location_once_applied(api, robot_id: str, expected: str, attempts: int = 100) -> str | None:
    """The robot's location once it reads `expected` (a write answered 202 lands later), or
    the last value read after `attempts` tries 0.1 s apart."""
    location = None
    for _ in range(attempts):
        location = (await (await api.get(f"{API}/robots/{robot_id}")).json())["location"]
        if location == expected:
            break
        await asyncio.sleep(0.1)
    return location


@pytest.fixture
async def private_nats(tmp_path, stream_names):
    server = PrivateNats(tmp_path / "jetstream")
    server.start()
    await declare_streams(server.url, stream_names)  # the admin step the services wait for
    yield server
    server.stop()


async def test_without_nats_writes_are_503_reads_go_on_and_writes_come_back(
    query_env, private_nats, tmp_path
):
    env = {**query_env, "NATS_URL": private_nats.url}
    projector = Projector(env, tmp_path / "projector.log")
    await projector.start()
    api = await _serve(env, await grant_token(env["DATABASE_URL"], "faults", "admin"))
    try:
        assert (await api.post(f"{API}/robots", json={"robot_id": "steady"})).status == 200

        private_nats.stop()
        refused = await api.put(f"{API}/robots/steady", json={"location": "Moon"})
        assert refused.status == 503
        assert "retry" in (await refused.json())["detail"]
        read = await api.get(f"{API}/robots/steady")
        assert read.status == 200 and (await read.json())["location"] is None
        ready = await api.get("/readyz")
        assert ready.status == 200 and (await ready.json())["checks"]["nats"].startswith("disconnected")

        private_nats.start()  # same port, same store: the clients reconnect by themselves
        for _ in range(10):
            again = await api.put(f"{API}/robots/steady", json={"location": "Dock"})
            if again.status != 503:
                break
            await asyncio.sleep(0.5)
        assert again.status in (200, 202)  # 202 if the projector is still reconnecting
        assert await location_once_applied(api, "steady", "Dock") == "Dock"
    finally:
        await api.close()
        projector.stop()


@pytest.fixture
def private_postgres():
    server = PrivatePostgres().start()
    yield server
    server.stop()


async def test_without_postgres_answers_are_503_and_the_pool_recovers(
    query_env, private_postgres, js, tmp_path
):
    env = {**query_env, "DATABASE_URL": private_postgres.url}
    projector = Projector(env, tmp_path / "projector.log")
    await projector.start()
    api = await _serve(env, await grant_token(env["DATABASE_URL"], "faults", "admin"))
    try:
        assert (await api.post(f"{API}/robots", json={"robot_id": "durable"})).status == 200

        await asyncio.to_thread(private_postgres.pause)
        for path in ("robots/durable", "logs", "stats"):
            down = await api.get(f"{API}/{path}")
            assert down.status == 503, path
            assert (await down.json())["detail"] == "Database unavailable; retry later"
        ready = await api.get("/readyz")
        assert ready.status == 503 and (await ready.json())["checks"]["database"].startswith("unreachable")
        write = await api.put(f"{API}/robots/durable", json={"location": "Vault"})
        assert write.status == 503

        await asyncio.to_thread(private_postgres.resume)
        back = await api.get(f"{API}/robots/durable")
        assert back.status == 200 and (await back.json())["robot_id"] == "durable"
        assert (await api.get("/readyz")).status == 200
        # writes too: 200, or 202 while the projector is still reconnecting
        assert (await api.put(f"{API}/robots/durable", json={"location": "Vault"})).status in (200, 202)
        assert await location_once_applied(api, "durable", "Vault") == "Vault"
    finally:
        await api.close()
        projector.stop()


async def test_reads_are_served_before_nats_answers_and_writes_follow_it(
    query_env, projector, fleet, stream_names, tmp_path
):
    await fleet.status("early")
    await fleet.applied()
    late_nats = PrivateNats(str(tmp_path / "late-jetstream"))  # not started yet
    token = await grant_token(query_env["DATABASE_URL"], "faults", "admin")
    api = await _serve({**query_env, "NATS_URL": late_nats.url}, token)
    try:
        assert (await api.get(f"{API}/robots/early")).status == 200
        refused = await api.post(f"{API}/robots", json={"robot_id": "too_soon"})
        assert refused.status == 503
        assert (await refused.json())["detail"].startswith("The event stream is not connected yet")
        ready = await api.get("/readyz")
        assert ready.status == 200 and (await ready.json())["checks"]["nats"].startswith("disconnected")

        late_nats.start()
        await declare_streams(late_nats.url, stream_names)
        for _ in range(100):  # the background connect retries with backoff
            if (await (await api.get("/readyz")).json())["checks"]["nats"] == "ok":
                break
            await asyncio.sleep(0.2)
        # Writes are recorded now. The projector folds the shared NATS's stream, not this
        # one, so the robot never appears: the answer is 202, recorded but not applied.
        accepted = await api.post(f"{API}/robots", json={"robot_id": "in_time"})
        assert accepted.status == 202, await accepted.text()
    finally:
        await api.close()
        late_nats.stop()
