"""Fixtures every suite shares. Each test gets its own stream names, subject prefix,
MQTT topic prefix and PostgreSQL database, so tests run in any order and in parallel
against the machine's real PostgreSQL, Mosquitto and NATS JetStream."""

from __future__ import annotations

import contextlib
import os
import uuid

import asyncpg
import nats
import pytest
from tonypi_events import StreamNames
from tonypi_runtime.postgres import quote_ident

from tests.support.ports import free_port

NATS_URL = os.environ.get("TEST_NATS_URL", "nats://127.0.0.1:4222")
MQTT_URL = os.environ.get("TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


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


@pytest.fixture
async def database_url(run_id: str):
    """A fresh, empty database for this test, dropped afterwards."""
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
    return f"t{run_id}/"


@pytest.fixture
def service_env(stream_names: StreamNames, database_url: str, mqtt_prefix: str) -> dict[str, str]:
    """The environment a service process of this test runs with: real brokers, own names, free ports."""
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
    }
