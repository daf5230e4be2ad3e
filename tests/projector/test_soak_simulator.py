"""Soak: `tonypi simulate` at `make run`'s defaults (5 robots, mixed generations, real
cadence, QoS 0) through a real ingest process and the projector. The jobs table must
hold exactly the jobs the simulated robots began, no job may start and end in the same
instant, and no log line may report a command: none was sent.

TONYPI_SOAK_SECONDS sets the duration (default 60; the figures in docs/performance.md
come from a 600 s run). Private stream, database, topic prefix and ports: no run lock.
"""

from __future__ import annotations

import asyncio
import os
import time

import asyncpg
import pytest
from prometheus_client import REGISTRY
from tonypi_cli.simulate import plan_fleet, simulate_fleet
from tonypi_runtime.connections import mqtt_url

from tests.conftest import MQTT_URL
from tests.projector.conftest import projector_running
from tests.projector.support import wait_applied

SOAK_SECONDS = float(os.environ.get("TONYPI_SOAK_SECONDS", "60"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(SOAK_SECONDS + 240)]


def counter_total(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_simulated_fleet_at_make_run_defaults_yields_exactly_the_jobs_it_started(
    ingest_process, js, streams, projector_env, database_url, mqtt_prefix
):
    plan = plan_fleet(5, "mixed", None, qos=0, duration=SOAK_SECONDS)  # `make run`'s fleet
    reasons = ("item_echo", "job_repeat", "job_counter_beside_announced_job", "job_counter_outside_job")
    before = {r: counter_total("tonypi_projector_messages_without_effect_total", reason=r) for r in reasons}
    async with projector_running(projector_env):
        started = time.monotonic()
        report = await simulate_fleet(
            plan, mqtt_url({"MQTT_URL": MQTT_URL}), mqtt_prefix, asyncio.Event(), seed=9
        )
        elapsed = time.monotonic() - started
        last = await wait_applied(js, streams, database_url, report.published)
    without_effect = {
        r: counter_total("tonypi_projector_messages_without_effect_total", reason=r) - before[r]
        for r in reasons
    }

    conn = await asyncpg.connect(database_url)
    try:
        jobs = {
            r["robot_id"]: r["n"]
            for r in await conn.fetch("SELECT robot_id, count(*) AS n FROM jobs GROUP BY robot_id")
        }
        by_status = dict(await conn.fetch("SELECT status, count(*) FROM jobs GROUP BY status"))
        instant = await conn.fetchval("SELECT count(*) FROM jobs WHERE end_time = start_time")
        command_lines = await conn.fetch(
            "SELECT message FROM system_logs WHERE category = 'command' OR message LIKE 'Command %'"
        )
        job_lines = await conn.fetchval("SELECT count(*) FROM system_logs WHERE category = 'job'")
    finally:
        await conn.close()

    expected = {robot: n for robot, n in report.jobs_started.items() if n}
    print(
        f"\nsoak: {elapsed:.0f}s, {report.published} messages, {last} events, jobs started {expected}, "
        f"jobs {jobs}, by status {by_status}, {job_lines} job log lines, without effect {without_effect}"
    )
    assert jobs == expected
    assert instant == 0
    assert [r["message"] for r in command_lines] == []
    assert without_effect["item_echo"] > 0  # the robots echoed their item replies; none became a line
