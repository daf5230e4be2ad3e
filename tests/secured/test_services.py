"""The services themselves, each as its own NATS user under the shipped auth.conf, on both
nats-servers (issue 16): ingest delivers a command and an emergency stop to the robot (row
1: before, its presence follower was refused and nothing was ever sent), and the projector
dead-letters a token forged through each service's user (row 2)."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import asyncpg
from tonypi_events import CURRENT_VERSION, EventEnvelope, EventType, encode, new_event_id, utc_now
from tonypi_events.clock import CLOCK_ROBOT_ID

from tests.conftest import MQTT_URL
from tests.projector.support import wait_for_checkpoint
from tests.projector.test_subject_authority import forged_token
from tests.support.processes import ServiceProcess

from .conftest import SecuredNats

ACTOR = {"name": "test", "role": "operator", "via": "token"}


def command_event(kind: EventType, robot_id: str, payload: dict) -> EventEnvelope:
    return EventEnvelope(
        event_id=new_event_id(),
        event_type=kind,
        schema_version=CURRENT_VERSION[kind],
        robot_id=robot_id,
        received_at=utc_now(),
        source="api",
        payload={"robot_id": robot_id, "timeout_s": 30, "actor": ACTOR, **payload},
    )


async def started(script: str, env: dict[str, str], port_variable: str, log) -> ServiceProcess:
    service = ServiceProcess(script, env, log_path=log).start()
    await service.async_wait_http_ok(f"http://127.0.0.1:{env[port_variable]}/readyz")
    return service


async def test_ingest_as_its_user_delivers_a_command_and_an_emergency_stop(
    declared: SecuredNats, service_env, mqtt_prefix, tmp_path
):
    env = {**service_env, **declared.env("ingest")}
    host, port = MQTT_URL.removeprefix("mqtt://").split(":")
    async with aiomqtt.Client(host, int(port)) as robot:
        await robot.subscribe(f"{mqtt_prefix}tonypi/commands/r1", qos=1)
        await robot.subscribe(f"{mqtt_prefix}tonypi/emergency_stop/r1", qos=1)
        ingest = await started("tonypi-ingest", env, "INGEST_PORT", tmp_path / "ingest.log")
        query = await declared.connect("query")  # what the API appends, as the query user
        try:
            js = query.jetstream()
            for kind, payload in (
                (EventType.COMMAND_REQUESTED, {"command_id": "c1", "type": "head_nod", "robot_online": True}),
                (EventType.EMERGENCY_STOP, {"command_id": "s1", "engaged": True, "reason": "test"}),
            ):
                event = command_event(kind, "r1", payload)
                await js.publish(f"tonypi.events.r1.{kind.value}", encode(event), stream="TONYPI_EVENTS")
            got = {}
            async with asyncio.timeout(30):
                async for message in robot.messages:
                    body = json.loads(message.payload)
                    got[body["id"]] = (str(message.topic).removeprefix(mqtt_prefix), body["type"])
                    if len(got) == 2:
                        break
            assert got == {
                "c1": ("tonypi/commands/r1", "head_nod"),
                "s1": ("tonypi/emergency_stop/r1", "emergency_stop"),
            }
        finally:
            await query.close()
            assert ingest.stop() == 0
        log = ingest.log_text()
        assert "permissions violation" not in log.lower(), log
        assert "command delivery stopped" not in log, log


async def test_a_token_forged_through_each_service_user_is_dead_lettered(
    declared: SecuredNats, service_env, database_url, tmp_path
):
    env = {**service_env, **declared.env("projector")}
    projector = await started("tonypi-projector", env, "PROJECTOR_PORT", tmp_path / "projector.log")
    forged = {}
    try:
        for user, subject in (
            ("query", "tonypi.events.robotZ.robot_registered"),
            ("ingest", "tonypi.events.r1.status"),
            ("projector", f"tonypi.events.{CLOCK_ROBOT_ID}.clock_tick"),
        ):
            nc = await declared.connect(user)
            try:  # auth.conf lets each of them publish here
                ack = await nc.jetstream().publish(subject, encode(forged_token(f"by-{user}")))
                forged[ack.seq] = user
            finally:
                await nc.close()
        await wait_for_checkpoint(database_url, max(forged))
        conn = await asyncpg.connect(database_url)
        try:
            assert await conn.fetch("SELECT name FROM api_tokens") == []
            dead = await conn.fetch("SELECT stream_seq, error FROM projection_dead_letters")
        finally:
            await conn.close()
        assert {r["stream_seq"] for r in dead} == set(forged)
        assert all(r["error"].startswith("subject_mismatch: ") for r in dead), dead
    finally:
        assert projector.stop() == 0, projector.log_text()
    assert "permissions violation" not in projector.log_text().lower()
