"""Each service its own NATS user with the least it needs (issue 11), on the REAL
nats-server started with the shipped auth.conf: a publish outside a user's permissions is
refused by the server and never reaches the stream; nobody connects anonymously; the
config refuses to load without the passwords."""

from __future__ import annotations

import asyncio
import os
import shutil

import nats
import nats.errors
import pytest
from tonypi_events import (
    CURRENT_VERSION,
    SCHEDULES,
    TOKENS_STREAM_ID,
    EventEnvelope,
    EventType,
    StreamNames,
    encode,
    ensure_streams,
    new_event_id,
    utc_now,
)
from tonypi_events.clock import CLOCK_ROBOT_ID
from tonypi_projector.source import EventSource

from tests.secured.conftest import start_secured

from .conftest import K8S, run, tool
from .test_brokers import stop

AUTH = K8S / "components/nats-single/auth.conf"
USERS = ("ingest", "projector", "query", "admin")
# The production names, with stream sizes a test machine can reserve.
NAMES = StreamNames(events_max_bytes=64 * 1024 * 1024, dead_letter_max_bytes=16 * 1024 * 1024)
INGEST_KINDS = {
    EventType.STATUS, EventType.SENSOR, EventType.BATTERY, EventType.LOCATION, EventType.SCAN,
    EventType.JOB, EventType.COMMAND_RESPONSE, EventType.SERVOS, EventType.VISION, EventType.LOG,
    EventType.EMERGENCY_STOP_RESPONSE, EventType.INGEST_REJECTED, EventType.COMMAND_SENT,
}  # fmt: skip
API_KINDS = {
    EventType.ROBOT_REGISTERED, EventType.ROBOT_UPDATED, EventType.ROBOT_DEACTIVATED,
    EventType.COMMAND_REQUESTED, EventType.EMERGENCY_STOP, EventType.ALARM_ACKNOWLEDGED,
}  # fmt: skip
TOKEN_KINDS = {EventType.TOKEN_CREATED, EventType.TOKEN_REVOKED}
# Schedules: written by the API, only under their pseudo robot id `_schedules`.
SCHEDULE_KINDS = {
    EventType.JOB_SCHEDULED, EventType.SCHEDULE_PAUSED, EventType.SCHEDULE_RESUMED,
    EventType.SCHEDULE_CANCELLED,
}  # fmt: skip
# Who may append each kind of event; every other user is refused.
WRITER = {
    **dict.fromkeys(INGEST_KINDS, "ingest"),
    **dict.fromkeys(API_KINDS, "query"),
    **dict.fromkeys(TOKEN_KINDS, "admin"),
    **dict.fromkeys(SCHEDULE_KINDS, "query"),
    EventType.CLOCK_TICK: "projector",  # the stream's clock (tonypi_events.clock)
}


def test_the_two_components_ship_the_same_permissions():
    assert AUTH.read_bytes() == (K8S / "components/nats-cluster/auth.conf").read_bytes()


def test_every_event_kind_has_exactly_one_writer():
    """A kind added without a NATS permission would be refused in production: say whose it is."""
    assert set(WRITER) == set(EventType), f"add to WRITER and auth.conf: {set(EventType) - set(WRITER)}"


def test_the_config_refuses_to_load_without_the_passwords(tmp_path):
    conf = tmp_path / "nats.conf"
    shutil.copy(AUTH, tmp_path / "auth.conf")
    conf.write_text("listen: 127.0.0.1:4222\ninclude auth.conf\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    done = run(tool("nats-server"), "-t", "-c", str(conf), check=False, env=env)
    assert done.returncode != 0 and "NATS_" in done.stdout + done.stderr


@pytest.fixture
def server(tmp_path):
    proc, secured = start_secured(tool("nats-server"), tmp_path)
    try:
        yield secured.port, secured.passwords
    finally:
        stop(proc)


class Client:
    def __init__(self, nc: nats.NATS, errors: list[str]) -> None:
        self.nc, self.js, self.errors = nc, nc.jetstream(), errors


async def connect(port: int, user: str, password: str) -> Client:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        f"nats://127.0.0.1:{port}", user=user, password=password, error_cb=on_error, max_reconnect_attempts=0
    )
    return Client(nc, errors)


def event(kind: EventType, robot_id: str = "r1") -> EventEnvelope:
    return EventEnvelope(
        event_id=new_event_id(),
        event_type=kind,
        schema_version=CURRENT_VERSION[kind],
        robot_id=TOKENS_STREAM_ID
        if kind in TOKEN_KINDS
        else SCHEDULES
        if kind in SCHEDULE_KINDS
        else CLOCK_ROBOT_ID
        if kind is EventType.CLOCK_TICK
        else robot_id,
        received_at=utc_now(),
        source="test",
        payload={},
    )


async def publish(client: Client, kind: EventType) -> bool:
    e = event(kind)
    try:
        await client.js.publish(
            NAMES.subjects.event(e.robot_id, kind), encode(e), stream=NAMES.events, timeout=1
        )
        return True
    except (TimeoutError, nats.errors.Error):
        return False


def refused(client: Client) -> bool:
    """The server said so (nats-py lower-cases its -ERR lines)."""
    return any("permissions violation" in e.lower() for e in client.errors)


async def wait_for(condition, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.integration  # starts nats-server
async def test_each_user_appends_only_its_own_kinds_of_event(server):
    port, pw = server
    clients = {user: await connect(port, user, pw[user]) for user in USERS}
    try:
        await ensure_streams(clients["admin"].js, NAMES)  # the admin declares the streams
        appended = 0
        for kind in sorted(EventType):
            for user in ("ingest", "query", "projector", "admin"):
                allowed = await publish(clients[user], kind)
                assert allowed == (WRITER[kind] == user), f"{user} appending {kind.value}: {allowed}"
                appended += allowed
                if not allowed:  # refused by the server itself, not a lost reply
                    await wait_for(lambda c=clients[user]: refused(c))

                    clients[user].errors.clear()
        info = await clients["admin"].js.stream_info(NAMES.events)
        assert info.state.messages == appended == len(EventType)
    finally:
        for client in clients.values():
            await client.nc.close()


@pytest.mark.integration  # starts nats-server
async def test_no_service_may_delete_or_purge_the_stream(server):
    port, pw = server
    admin = await connect(port, "admin", pw["admin"])
    await ensure_streams(admin.js, NAMES)
    try:
        for user in ("ingest", "projector", "query"):
            client = await connect(port, user, pw[user])
            try:
                with pytest.raises((TimeoutError, nats.errors.Error)):
                    await client.js.delete_stream(NAMES.events)
                with pytest.raises((TimeoutError, nats.errors.Error)):
                    await client.js.purge_stream(NAMES.events)
                await wait_for(lambda c=client: refused(c))
            finally:
                await client.nc.close()
        assert (await admin.js.stream_info(NAMES.events)).config.name == NAMES.events
    finally:
        await admin.nc.close()


@pytest.mark.integration  # starts nats-server
async def test_the_projector_reads_the_stream_with_a_consumer(server):
    port, pw = server
    admin = await connect(port, "admin", pw["admin"])
    ingest = await connect(port, "ingest", pw["ingest"])
    projector = await connect(port, "projector", pw["projector"])
    try:
        await ensure_streams(admin.js, NAMES)
        assert await publish(ingest, EventType.STATUS)
        source = EventSource(projector.nc, NAMES, "projector", batch_size=10, fetch_timeout=2)
        await source.open(1)  # the projector's own code: delete, then create its durable consumer
        [msg] = await source.fetch()
        await msg.ack()
        assert msg.subject == NAMES.subjects.event("r1", EventType.STATUS)
        await source.close()
        assert not refused(projector), projector.errors
    finally:
        for client in (admin, ingest, projector):
            await client.nc.close()


@pytest.mark.integration  # starts nats-server
async def test_nobody_connects_anonymously_or_with_a_wrong_password(server):
    port, pw = server
    for kwargs in ({}, {"user": "query", "password": pw["ingest"]}):
        with pytest.raises((nats.errors.Error, OSError)):
            await nats.connect(
                f"nats://127.0.0.1:{port}", max_reconnect_attempts=0, allow_reconnect=False, **kwargs
            )
