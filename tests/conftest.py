"""Fixtures every suite shares. Each test gets its own stream names, subject prefix,
MQTT topic prefix and PostgreSQL database, so tests run in any order and in parallel
against real PostgreSQL, MQTT and NATS JetStream: the machine's, or the embedded ones
`make test` starts on free ports (it passes their URLs in TEST_*_URL).

A dependency that does not answer fails each test that needs it within seconds, naming
it. A test that uses none of these fixtures is in the fast tier (`make unit`, marked `unit`
at collection) unless its file marks it `slow` or `integration`."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from urllib.parse import urlsplit

import asyncpg
import nats
import pytest
from tonypi_events import StreamNames, ensure_streams
from tonypi_runtime.postgres import quote_ident

from tests.support.ports import free_port

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")
MQTT_URL = os.environ.get("TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEPENDENCIES = {
    "NATS": ("TEST_NATS_URL", NATS_URL),
    "MQTT": ("TEST_MQTT_URL", MQTT_URL),
    "PostgreSQL": ("TEST_PG_ADMIN_URL", PG_ADMIN_URL),
}
CONNECT_TIMEOUT = 2.0
# `make test` on a machine without Mosquitto runs the embedded amqtt (tonypi with-deps):
# the few tests of what only Mosquitto does are skipped there, each saying what.
EMBEDDED_AMQTT = os.environ.get("TEST_MQTT_BROKER") == "amqtt"
# Fixtures that reach a broker or the database: a `unit` test may request none of them.
BROKER_FIXTURES = frozenset({"nats_client", "js", "streams", "database_url", "mqtt_prefix", "service_env"})
_unreachable: dict[str, str | None] = {}


def require(name: str) -> None:
    """Fail the calling test at once, naming the dependency, when it does not answer (a
    client library would retry for minutes). Checked once per session."""
    if name not in _unreachable:
        variable, url = DEPENDENCIES[name]
        parts = urlsplit(url)
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_TIMEOUT).close()
            _unreachable[name] = None
        except OSError as exc:
            _unreachable[name] = (
                f"{name} does not answer at {parts.hostname}:{parts.port} ({variable}): {exc}. "
                "`make test` starts what is missing; with plain pytest, start it or set "
                f"{variable}"
            )
    if _unreachable[name] is not None:
        pytest.fail(_unreachable[name], pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tiers, from each test's fixture closure: a test that requests a broker or database
    fixture is `integration`; every other test not marked `slow` or `integration` in its file
    (a service process, a browser, a container tool) is `unit`, the fast tier `make unit`
    selects. A test joins the fast tier by needing nothing outside the process, not by a mark."""
    misplaced = []
    for item in items:
        reaches_out = BROKER_FIXTURES & set(item.fixturenames)
        if item.get_closest_marker("unit"):  # marked by hand: must hold
            if reaches_out:
                misplaced.append(item.nodeid)
        elif reaches_out:
            item.add_marker(pytest.mark.integration)
        elif not (item.get_closest_marker("slow") or item.get_closest_marker("integration")):
            item.add_marker(pytest.mark.unit)
    if misplaced:
        raise pytest.UsageError(f"marked unit but uses a broker fixture: {', '.join(misplaced)}")


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:10]


# JetStream reserves a stream's max_bytes up front: the production 50 GiB per test
# would exhaust the server's store when suites run side by side.
TEST_EVENTS_MAX_BYTES = 256 * 1024 * 1024
TEST_DEAD_LETTER_MAX_BYTES = 16 * 1024 * 1024


@pytest.fixture
def stream_names(run_id: str) -> StreamNames:
    return StreamNames(
        events=f"T_{run_id}_EVENTS",
        dead_letter=f"T_{run_id}_DEADLETTER",
        subject_prefix=f"t{run_id}",
        events_max_bytes=TEST_EVENTS_MAX_BYTES,
        dead_letter_max_bytes=TEST_DEAD_LETTER_MAX_BYTES,
    )


@pytest.fixture
async def nats_client():
    require("NATS")
    nc = await nats.connect(NATS_URL)
    yield nc
    await nc.close()


@pytest.fixture
async def js(nats_client, stream_names: StreamNames):
    """JetStream, with this test's streams deleted afterwards."""
    jsc = nats_client.jetstream()
    yield jsc
    for name in (stream_names.events, stream_names.dead_letter):
        with contextlib.suppress(Exception):  # never created by this test
            await jsc.delete_stream(name)


async def declare_streams(url: str, names: StreamNames) -> None:
    """What an admin does before the services start (`tonypi streams declare`): the services
    only look the streams up."""
    nc = await nats.connect(url)
    try:
        await ensure_streams(nc.jetstream(), names)
    finally:
        await nc.close()


@pytest.fixture
async def streams(js, stream_names: StreamNames) -> StreamNames:
    """This test's streams, declared (as the admin step does) and deleted afterwards (`js`)."""
    await ensure_streams(js, stream_names)
    return stream_names


@pytest.fixture
async def database_url(run_id: str):
    """A fresh, empty database for this test, dropped afterwards."""
    require("PostgreSQL")
    name = f"tonypi_test_{run_id}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        quoted = await quote_ident(admin, name)
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
def mqtt_prefix(run_id: str) -> str:
    require("MQTT")
    return f"t{run_id}/"


@pytest.fixture
def service_env(streams: StreamNames, database_url: str, mqtt_prefix: str) -> dict[str, str]:
    """The environment a service process of this test runs with: real brokers, own names
    (their streams declared, as an admin does first), free ports."""
    stream_names = streams
    return {
        "MQTT_URL": MQTT_URL,
        "NATS_URL": NATS_URL,
        "DATABASE_URL": database_url,
        "EVENTS_STREAM": stream_names.events,
        "DEAD_LETTER_STREAM": stream_names.dead_letter,
        "SUBJECT_PREFIX": stream_names.subject_prefix,
        "EVENTS_MAX_BYTES": str(stream_names.events_max_bytes),
        "DEAD_LETTER_MAX_BYTES": str(stream_names.dead_letter_max_bytes),
        "MQTT_TOPIC_PREFIX": mqtt_prefix,
        "INGEST_PORT": str(free_port()),
        "PROJECTOR_PORT": str(free_port()),
        "QUERY_PORT": str(free_port()),
        # Tests drive the stream's clock themselves (they publish clock_tick events with the
        # times they choose), so stream sequences stay exactly what they published; the
        # emitter's own tests turn it on.
        "CLOCK_TICK_PERIOD": "0",
    }
