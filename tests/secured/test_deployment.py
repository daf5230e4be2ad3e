"""Issue 16's proof: the secured deployment run whole (tests/secured/stack.py), each row of
the issue's table a test that failed on the configuration before it. One deployment per
nats-server serves the module; each test uses its own robots and names.

Rows proven elsewhere in the secured configuration are referenced, not repeated: a stream
update, purge or delete by each service user (row 3): test_nats_users.py, on both
nats-servers; the ACL between robots: tests/deploy/test_mqtt_acl.py."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from contextlib import AsyncExitStack

import aiohttp
import asyncpg
import nats.errors
import pytest
import pytest_asyncio
from tonypi_cli import fleet
from tonypi_cli.behaviour import RobotBehaviour
from tonypi_cli.simulate import PublishCounter, run_robot
from tonypi_events import EventType, encode
from tonypi_events.clock import CLOCK_ROBOT_ID
from tonypi_runtime.connections import mqtt_url

from tests.live.conftest import SseReader
from tests.projector.support import wait_for_checkpoint
from tests.projector.test_subject_authority import forged_token

from .client import (
    answer,
    at_least,
    command_in,
    exists,
    forged_tick,
    get,
    online,
    post,
    robot_client,
    status,
    true,
    until,
    words,
)
from .conftest import SERVERS
from .stack import API, Deployment, cli, deploy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.asyncio(loop_scope="module"),
]  # the secured stack: brokers and services as processes
DROPPED = "tonypi_projector_command_answers_dropped_total"


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=sorted(SERVERS))
async def deployment(request, tmp_path_factory):
    async with AsyncExitStack() as stack:
        yield await deploy(stack, request.param, tmp_path_factory.mktemp("secured"), uuid.uuid4().hex[:10])


async def test_a_command_and_an_emergency_stop_reach_the_robot_and_settle(deployment: Deployment):
    """Row 1: under the shipped permissions, a robot on its own login is sent an operator's
    command and emergency stop and its answers (on the id-less topics) settle them."""
    behaviour = RobotBehaviour(fleet.Robot("secA", 2), random.Random(7))
    url = mqtt_url(deployment.mqtt_env("secA"))
    halt = asyncio.Event()
    robot = asyncio.create_task(run_robot(behaviour, url, "", 1, halt, PublishCounter()))
    try:
        async with deployment.session(deployment.tokens["operator"]) as api:
            await until(lambda: online(api, "secA"))
            nod = await post(api, "/robots/secA/commands", {"type": "head_nod"})
            press = await post(api, "/robots/secA/emergency-stop", {"reason": "secured drill"})
            done = await until(lambda: command_in(api, nod["command_id"], "succeeded"))
            stopped = await until(lambda: command_in(api, press["command_id"], "succeeded"))
        assert done["sent_count"] >= 1 and stopped["sent_count"] >= 1
        assert behaviour.emergency_stopped
        # Row 8: the actor says how it was asked.
        assert done["actor"] == {"name": "sec-operator", "role": "operator", "via": "token"}
    finally:
        halt.set()
        await asyncio.wait_for(robot, 10)


async def test_an_answer_settles_only_its_own_robots_sent_command(deployment: Deployment):
    """Row 4: robot A answering with B's command ids, or a robot answering a command never
    sent, settles nothing; B's own answer does."""
    async with (
        deployment.session(deployment.tokens["operator"]) as api,
        robot_client(deployment, "secB") as robot_b,
        robot_client(deployment, "secA") as robot_a,
        robot_client(deployment, "secC") as robot_c,
    ):
        await robot_b.subscribe("tonypi/commands/secB", qos=1)
        await robot_b.subscribe("tonypi/emergency_stop/secB", qos=1)
        await robot_b.publish("tonypi/status/secB", status("secB"), qos=1)
        await robot_c.publish("tonypi/status/secC", status("secC", status="offline"), qos=1)
        await until(lambda: online(api, "secB"))
        move = await post(api, "/robots/secB/commands", {"type": "head_nod", "timeout_s": 60})
        press = await post(api, "/robots/secB/emergency-stop", {})
        received = set()
        async with asyncio.timeout(20):
            async for message in robot_b.messages:
                received.add(json.loads(message.payload)["id"])
                if len(received) == 2:
                    break
        assert received == {move["command_id"], press["command_id"]}
        for command in (move, press):
            await until(lambda c=command: command_in(api, c["command_id"], "sent"))

        before = await deployment.metric("projector", f'{DROPPED}{{reason="other_robot"}}')
        for command_id in received:  # A, on its own login, in A's name, with B's ids
            await robot_a.publish("tonypi/commands/response", answer("secA", command_id), qos=1)
            await robot_a.publish("tonypi/emergency_stop/response", answer("secA", command_id), qos=1)
        other = f'{DROPPED}{{reason="other_robot"}}'
        await until(lambda: at_least(deployment.metric("projector", other), before + 4))
        for command in (move, press):
            body = await command_in(api, command["command_id"], "sent")
            assert body and body["response"] is None, body

        await until(lambda: exists(api, "secC"))
        held = await post(api, "/robots/secC/commands", {"type": "head_nod", "wait": True})
        await robot_c.publish("tonypi/commands/response", answer("secC", held["command_id"]), qos=1)
        await until(lambda: at_least(deployment.metric("projector", f'{DROPPED}{{reason="not_sent"}}'), 1))
        body = await command_in(api, held["command_id"], "requested")
        assert body and body["sent_at"] is None and body["response"] is None, body

        await robot_b.publish("tonypi/commands/response", answer("secB", move["command_id"]), qos=1)
        done = await until(lambda: command_in(api, move["command_id"], "succeeded"))
        assert done["outcomes"] == {"secB": {"outcome": "confirmed", "message": "ok"}}


async def test_a_token_or_tick_forged_through_a_service_user_is_never_applied(deployment: Deployment):
    """Row 2: a token minted through each service's NATS user, and a clock tick forged by a
    user that is not the projector, are dead-lettered (`subject_mismatch`); the clock's own
    subject refuses them outright."""
    forged: dict[int, str] = {}
    for user, subject, event in (
        ("query", "tonypi.events.secZ.robot_registered", forged_token("by-query")),
        ("ingest", "tonypi.events.secZ.status", forged_token("by-ingest")),
        ("projector", f"tonypi.events.{CLOCK_ROBOT_ID}.clock_tick", forged_token("by-projector")),
        ("query", "tonypi.events.secZ.command_requested", forged_tick()),
        ("ingest", "tonypi.events.secZ.status", forged_tick()),
    ):
        nc = await deployment.nats.connect(user)
        try:
            ack = await nc.jetstream().publish(subject, encode(event))
            forged[ack.seq] = f"{event.event_type.value} by {user}"
        finally:
            await nc.close()
    for user in ("query", "ingest"):
        errors: list[str] = []
        nc = await deployment.nats.connect(user, errors)
        try:
            with pytest.raises((TimeoutError, nats.errors.Error)):
                await nc.jetstream(timeout=1).publish(f"tonypi.events.{CLOCK_ROBOT_ID}.clock_tick", b"{}")
            await until(lambda e=errors: true(any("permissions violation" in x.lower() for x in e)), 5)
        finally:
            await nc.close()
    await wait_for_checkpoint(deployment.logins.admin, max(forged))
    conn = await asyncpg.connect(deployment.logins.admin)
    try:
        names = {r["name"] for r in await conn.fetch("SELECT name FROM api_tokens")}
        dead = await conn.fetch(
            "SELECT stream_seq, error FROM projection_dead_letters WHERE stream_seq = ANY($1::bigint[])",
            list(forged),
        )
    finally:
        await conn.close()
    assert names == {"sec-operator", "sec-viewer", "sec-admin"}
    # Ingest's readers ignore them too, and count them as forgeries.
    for reader in ("deliverer", "presence"):  # the tick on a command subject; both on a status one
        mismatches = f'tonypi_ingest_subject_mismatches_total{{reader="{reader}"}}'
        await until(lambda m=mismatches: at_least(deployment.metric("ingest", m), 1))
    assert {r["stream_seq"] for r in dead} == set(forged), forged
    assert all(r["error"].startswith("subject_mismatch: ") for r in dead), dead


async def test_junk_on_a_command_subject_is_judged_by_its_subject_and_logged_once(deployment: Deployment):
    """What a stolen `query` password can make of ingest's command deliverer and presence
    follower: junk claiming another kind is counted as a forgery (before: as unreadable,
    uncounted as one); junk of the subject's own kind is logged once a minute, not once a
    message (before: each)."""
    deliverer = 'tonypi_ingest_subject_mismatches_total{reader="deliverer"}'
    presence = 'tonypi_ingest_subject_mismatches_total{reader="presence"}'
    unreadable = 'tonypi_ingest_commands_total{outcome="unreadable"}'
    before = [await deployment.metric("ingest", name) for name in (deliverer, presence, unreadable)]
    nc = await deployment.nats.connect("query")
    try:
        for own in (EventType.COMMAND_REQUESTED, EventType.EMERGENCY_STOP):
            for kind in (EventType.CLOCK_TICK, own) * 3:
                junk = {"event_type": kind, "robot_id": "secY", "payload": {"x": 1}}
                event = forged_tick().model_copy(update=junk)
                await nc.jetstream().publish(f"tonypi.events.secY.{own.value}", encode(event))
    finally:
        await nc.close()
    for name, was, more in zip((deliverer, presence, unreadable), before, (6, 3, 6), strict=True):
        await until(lambda n=name, least=was + more: at_least(deployment.metric("ingest", n), least))
    log = deployment.services["ingest"].log_path.read_text()
    assert log.count("unreadable command event at tonypi.events.secY") == 1, log[-3000:]
    assert log.count("unreadable emergency_stop event at tonypi.events.secY") <= 1, log[-3000:]


async def test_a_reserved_id_cannot_become_a_robot_login(deployment: Deployment):
    """Row 6, on the deployment's own password file: `response` (the ACL's %u would let that
    login read every robot's answers) is refused and the file left as it was; `broadcast` and
    every other reserved id: tests/deploy/test_mqtt_acl.py."""
    before = deployment.password_file.read_bytes()
    args = ("mqtt", "add-robot", "response", "--password-file", str(deployment.password_file))
    done = await asyncio.to_thread(cli, *args, env={}, check=False)
    assert done.returncode == 2 and "is reserved" in done.stderr, done
    assert deployment.password_file.read_bytes() == before


async def test_the_query_login_cannot_mint_a_token_and_ingest_has_no_database(deployment: Deployment):
    """Row 5: the query service's PostgreSQL login reads but cannot write `api_tokens` (or any
    read table); ingest runs without a DATABASE_URL."""
    conn = await asyncpg.connect(deployment.logins.query)
    try:
        assert await conn.fetchval("SELECT count(*) FROM api_tokens") == 3
        for statement in (
            "INSERT INTO api_tokens (name, role, token_sha256, created_at) VALUES ('x', 'admin', 'x', now())",
            "UPDATE api_tokens SET role = 'admin'",
            "DELETE FROM api_tokens",
            "UPDATE robots SET name = 'x'",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()
    assert "DATABASE_URL" not in deployment.services["ingest"].env
    assert "MQTT_PASSWORD" not in deployment.services["query"].env
    assert "MQTT_PASSWORD" not in deployment.services["projector"].env


async def test_a_viewers_feed_and_logs_carry_no_token(deployment: Deployment):
    """Row 7: a token made while a viewer follows the live feed makes no record, and the
    viewer's /logs has no `auth` line, while an admin's has it."""
    async with (
        deployment.session(
            deployment.tokens["viewer"], timeout=aiohttp.ClientTimeout(sock_read=30)
        ) as viewer,
        deployment.session(deployment.tokens["admin"]) as admin,
        robot_client(deployment, "secV") as robot,
    ):
        async with viewer.get(f"{API}/events") as resp:
            assert resp.status == 200
            feed = SseReader(resp)
            await until(lambda: at_least(deployment.metric("query", "tonypi_query_sse_clients"), 1))
            made = await asyncio.to_thread(deployment.make_token, "sec-secret-holder", "operator")
            await robot.publish("tonypi/status/secV", status("secV"), qos=1)
            seen = []
            while not seen or seen[-1].data.get("robot_id") != "secV":
                seen.append(await feed.next())
        assert not [r for r in seen if r.event.startswith("token_") or r.data.get("robot_id") == "_tokens"], (
            seen
        )
        assert not [r for r in seen if {"token_sha256", "sec-secret-holder", made} & words(r.data)], seen
        _, lines = await get(viewer, "/logs?limit=1000")
        assert not [
            line for line in lines if line["category"] == "auth" or "secret-holder" in line["message"]
        ]
        _, lines = await get(admin, "/logs?category=auth&limit=1000")
        assert "Token created: sec-secret-holder (operator)" in [line["message"] for line in lines]


async def test_failed_authentication_is_throttled_per_client(deployment: Deployment):
    """Row 9: a client address that keeps failing is answered 429 with Retry-After (counted);
    another address's good token still answers. The failing client comes from 127.0.0.2."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with (
        deployment.session("tpk_" + "A" * 43, connector=connector) as guesser,
        deployment.session(deployment.tokens["viewer"]) as viewer,
    ):
        codes = []
        for _ in range(40):
            async with guesser.get(f"{API}/robots") as resp:
                codes.append(resp.status)
                if resp.status == 429:
                    assert int(resp.headers["Retry-After"]) >= 1
                    break
        assert codes[-1] == 429 and set(codes[:-1]) == {401}, codes
        assert (await get(viewer, "/robots"))[0] == 200
    assert await deployment.metric("query", "tonypi_query_auth_throttled_total") >= 1


async def test_no_service_was_refused_a_permission_it_needs(deployment: Deployment):
    """Last: over all of the above, no service hit a permission it lacks (row 1's symptom)."""
    for name, log in deployment.logs().items():
        assert "permissions violation" not in log.lower(), (name, log[-3000:])
        assert "command delivery stopped" not in log, (name, log[-3000:])
