"""The robots' unchanged client, message for message, through a real `tonypi-ingest`
process and the projector, to what an operator reads in jobs and system_logs (issue 9).

The test plays the robot as its client does: it scans, waits for ingest's reply on
tonypi/items/{robot}, echoes it on tonypi/commands/response and, for a found item,
publishes its item counter. Gen 2's job reports come every 3 s by the robot's clock (the
rules depend on what the messages say, not on when they arrive, so they are sent
back to back).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import aiomqtt
import asyncpg
from prometheus_client import REGISTRY

from tests.conftest import MQTT_URL
from tests.projector import clients as c
from tests.projector.conftest import projector_running
from tests.projector.support import wait_applied

SEED_WIDGET_A = {
    "sku": "ITEM-001",
    "name": "Widget A",
    "description": "Blue widget, 10cm x 5cm",
    "weight_kg": 0.55,
    "location": "Aisle 3, Shelf B",
}


class Robot:
    """One robot's MQTT connection, publishing what its client publishes."""

    def __init__(self, client: aiomqtt.Client, prefix: str, robot_id: str):
        self.client, self.prefix, self.robot_id = client, prefix, robot_id
        self.published = 0

    async def send(self, *messages: c.Message) -> None:
        for topic, payload in messages:
            await self.client.publish(self.prefix + topic, json.dumps(payload), qos=1)
            self.published += 1

    async def scan_item(self, qr: str, counter: int, t: float, gen: int = 1) -> tuple[dict, int]:
        """Scan, await ingest's reply, echo it, and for a found item count it; returns the
        reply and the counter after it."""
        await self.send(c.scan(self.robot_id, qr, t, gen=gen))
        async with asyncio.timeout(10):
            async for message in self.client.messages:
                reply = json.loads(message.payload)
                if reply.get("qr") == qr:
                    break
        await self.send(c.item_echo(self.robot_id, reply, t))
        if reply["found"]:
            counter += 1
            await self.send(c.item_counter(self.robot_id, counter, t))
        return reply, counter


@contextlib.asynccontextmanager
async def robot(prefix: str, robot_id: str):
    host, port = MQTT_URL.removeprefix("mqtt://").split(":")
    async with aiomqtt.Client(host, int(port)) as client:
        await client.subscribe(f"{prefix}tonypi/items/{robot_id}", qos=1)
        yield Robot(client, prefix, robot_id)


async def rows(database_url: str, robot_id: str) -> tuple[list[dict], list[dict]]:
    conn = await asyncpg.connect(database_url)
    try:
        jobs = await conn.fetch("SELECT * FROM jobs WHERE robot_id = $1 ORDER BY id", robot_id)
        logs = await conn.fetch(
            "SELECT * FROM system_logs WHERE robot_id = $1 AND category IN ('job', 'command') ORDER BY id",
            robot_id,
        )
    finally:
        await conn.close()
    return [dict(j) for j in jobs], [dict(line) for line in logs]


def without_effect(reason: str) -> float:
    value = REGISTRY.get_sample_value("tonypi_projector_messages_without_effect_total", {"reason": reason})
    return value or 0.0


async def test_gen2_repeats_its_last_job_message_and_no_junk_job_appears(
    ingest_process, js, streams, projector_env, database_url, mqtt_prefix
):
    rid = "tonypi_habit_g2"
    async with robot(mqtt_prefix, rid) as r:
        async with projector_running(projector_env):
            await r.send(c.gen2_started(rid, 0), *(c.gen2_report(rid, 0, 3 * n, n) for n in range(1, 4)))
            await r.send(c.gen2_report(rid, 0, 12, 3, status="completed"))
            await wait_applied(js, streams, database_url, r.published)
        before = without_effect("job_repeat")
        async with projector_running(projector_env):  # restarted: the ended job is read back
            # 27 s of an idle robot: the same ending every 3 s, a new end_time each time.
            await r.send(*(c.gen2_report(rid, 0, 12 + 3 * k, 3, status="completed") for k in range(1, 10)))
            await wait_applied(js, streams, database_url, r.published)
            assert without_effect("job_repeat") - before == 9
    jobs, logs = await rows(database_url, rid)
    [job] = jobs
    assert (job["status"], job["task_name"], job["items_done"], job["percent_complete"]) == (
        "completed",
        "Transport",
        3,
        100.0,
    )
    assert json.loads(job["last_item"])["item_id"] == "ITEM_0003"  # gen 2's own last_item
    assert [line["message"] for line in logs] == [
        f"Job {job['id']} started on {rid}",
        f"Job {job['id']} completed on {rid}",
    ]


async def test_gen1_counter_past_its_total_and_echoes_make_one_job_and_no_command_lines(
    ingest_process, js, streams, projector_env, database_url, mqtt_prefix
):
    rid = "tonypi_habit_g1"
    async with robot(mqtt_prefix, rid) as r, projector_running(projector_env):
        counter, replies = 0, []
        for n in range(12):
            reply, counter = await r.scan_item("QR12345", counter, t=12 * n)
            replies.append(reply)
        not_found, counter = await r.scan_item("QR99999", counter, t=200)
        await r.send(c.command_response(rid, "c-1", success=False, message="path blocked", t=210))
        await wait_applied(js, streams, database_url, r.published)
    assert replies[0]["item"] == SEED_WIDGET_A and not_found["found"] is False
    jobs, logs = await rows(database_url, rid)
    [job] = jobs
    assert (job["status"], job["items_done"], job["items_total"], job["percent_complete"]) == (
        "completed",
        12,  # twelve found, one not found: only what the robot counts
        10,
        100.0,
    )
    assert json.loads(job["last_item"]) == {"qr": "QR99999"}
    assert [(line["level"], line["message"]) for line in logs] == [
        ("INFO", f"Job {job['id']} started on {rid}"),
        ("INFO", f"Job {job['id']} completed on {rid}"),
        ("WARNING", f"Command c-1 failed on {rid}: path blocked"),
    ]


async def test_gen1_scanning_only_unknown_codes_runs_no_phantom_job(
    ingest_process, js, streams, projector_env, database_url, mqtt_prefix
):
    """Issue 17 row 1: a gen-1 robot scanning codes the catalogue lacks. Its counter never
    moves and it sends no counter message; once a code is found, its job counts that one
    and the unknown codes after it never take it past its total nor to 100 %."""
    rid = "tonypi_habit_unknown"
    async with robot(mqtt_prefix, rid) as r, projector_running(projector_env):
        counter = 0
        for n in range(12):
            reply, counter = await r.scan_item(f"QR9999{n % 10}", counter, t=12 * n)
            assert reply["found"] is False
        await wait_applied(js, streams, database_url, r.published)
        assert await rows(database_url, rid) == ([], [])  # no job: none active, none in /stats
        _, counter = await r.scan_item("QR12345", counter, t=200)
        for n in range(12):
            _, counter = await r.scan_item("QR99999", counter, t=212 + 12 * n)
        await wait_applied(js, streams, database_url, r.published)
    assert counter == 1
    jobs, logs = await rows(database_url, rid)
    [job] = jobs
    assert (job["status"], job["items_done"], job["items_total"], job["percent_complete"]) == (
        "active",
        1,
        10,
        10.0,
    )
    assert json.loads(job["last_item"]) == {"qr": "QR99999"}
    assert [line["message"] for line in logs] == [f"Job {job['id']} started on {rid}"]


async def test_a_replaced_job_keeps_its_real_progress(
    ingest_process, js, streams, projector_env, database_url, mqtt_prefix
):
    rid = "tonypi_habit_replace"
    async with robot(mqtt_prefix, rid) as r, projector_running(projector_env):
        counter = 0
        for n in range(2):
            _, counter = await r.scan_item("QR67890", counter, t=12 * n, gen=2)
        await r.send(c.gen2_started(rid, 30), c.gen2_report(rid, 30, 33, 1))
        await wait_applied(js, streams, database_url, r.published)
    jobs, logs = await rows(database_url, rid)
    old, new = jobs
    assert (old["status"], old["items_done"], old["percent_complete"], old["reason"]) == (
        "superseded",
        2,
        20.0,
        f"superseded by job {new['id']}",
    )
    assert (new["status"], new["task_name"], new["items_done"]) == ("active", "Transport", 1)
    assert ("WARNING", f"Job {old['id']} superseded on {rid}") in [(x["level"], x["message"]) for x in logs]
    assert not [x for x in logs if x["message"].startswith("Command")]


async def test_a_robot_going_silent_and_coming_back_leaves_one_line_each(
    ingest_process, js, streams, projector_env, database_url, mqtt_prefix
):
    """Issue 17 row 9, through the real ingest and projector with the stream's clock on: a
    gen-1 robot's status, silence past ONLINE_TIMEOUT, then its next status."""
    rid = "tonypi_habit_silent"
    env = {**projector_env, "CLOCK_TICK_PERIOD": "1", "ONLINE_TIMEOUT": "2"}

    async def status_lines() -> list[tuple[str, str]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT level, message FROM system_logs "
                "WHERE robot_id = $1 AND category = 'status' ORDER BY id",
                rid,
            )
        finally:
            await conn.close()
        return [(r["level"], r["message"].split(" (")[0].split(":")[0]) for r in rows]

    async def until_lines(n: int) -> list[tuple[str, str]]:
        try:
            async with asyncio.timeout(30):
                while len(lines := await status_lines()) < n:
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"{n} status lines expected, got {await status_lines()}") from None
        return lines

    def status(t: float) -> c.Message:
        return "tonypi/status/" + rid, {"robot_id": rid, "status": "online", "timestamp": c.at(t)}

    async with robot(mqtt_prefix, rid) as r, projector_running(env):
        await r.send(status(0))
        assert await until_lines(1) == [("WARNING", f"Robot {rid} went offline")]
        await r.send(status(60))
        assert await until_lines(2) == [
            ("WARNING", f"Robot {rid} went offline"),
            ("INFO", f"Robot {rid} is back online"),
        ]
