"""Issue 16 row 2 at the projector: an envelope its subject does not vouch for is
dead-lettered (`subject_mismatch`), counted, and never applied; `tonypi replay` does the
same. The forgeries are what each service's NATS user may publish (auth.conf grants by
subject): a token minted on a registration subject (query), on a status subject (ingest),
on the clock's subject (projector)."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
from tonypi_events import TOKENS_STREAM_ID, EventEnvelope, EventType, encode, new_event_id, utc_now
from tonypi_events.clock import CLOCK_ROBOT_ID
from tonypi_projector.config import load_settings
from tonypi_projector.replay import replay

from tests.projector.support import event, publish, wait_for_checkpoint
from tests.projector.test_live_projection import metric, scrape

MISMATCHES = "tonypi_projector_subject_mismatches_total"
# (the subject's robot, the subject's kind): what query, ingest and the projector may write.
FORGERY_SUBJECTS = [
    ("robotZ", EventType.ROBOT_REGISTERED),
    ("r1", EventType.STATUS),
    (CLOCK_ROBOT_ID, EventType.CLOCK_TICK),
]


def forged_token(name: str) -> EventEnvelope:
    return EventEnvelope(
        event_id=new_event_id(),
        event_type=EventType.TOKEN_CREATED,
        schema_version=1,
        robot_id=TOKENS_STREAM_ID,
        received_at=utc_now(),
        source="cli",
        payload={
            "name": name,
            "role": "admin",
            "token_sha256": hashlib.sha256(name.encode()).hexdigest(),
            "actor": {"name": "cli:root", "role": "admin"},  # created_by forged too
        },
    )


async def publish_forgeries(js, streams) -> dict[int, str]:
    """seq -> the forged token's name, each on another writer's subject."""
    forged = {}
    for robot, kind in FORGERY_SUBJECTS:
        name = f"forged-{kind.value}"
        ack = await js.publish(
            streams.subjects.event(robot, kind), encode(forged_token(name)), stream=streams.events
        )
        forged[ack.seq] = name
    return forged


async def read(database_url: str) -> tuple[list, dict[int, asyncpg.Record]]:
    conn = await asyncpg.connect(database_url)
    try:
        tokens = [r["name"] for r in await conn.fetch("SELECT name FROM api_tokens")]
        dead = {
            r["stream_seq"]: r
            for r in await conn.fetch(
                "SELECT stream_seq, event_type, robot_id, error FROM projection_dead_letters"
            )
        }
        return tokens, dead
    finally:
        await conn.close()


def assert_refused(tokens: list, dead: dict, forged: dict[int, str]) -> None:
    assert tokens == [], "a forged token was applied"
    assert set(dead) == set(forged)
    for row in dead.values():
        assert row["error"].startswith("subject_mismatch: "), row["error"]
        # What it claimed is kept for the record.
        assert (row["event_type"], row["robot_id"]) == ("token_created", TOKENS_STREAM_ID)


async def test_a_forged_token_is_dead_lettered_counted_and_never_applied(
    js, streams, projector, projector_env, database_url
):
    before = metric(await asyncio.to_thread(scrape, projector_env), MISMATCHES)
    forged = await publish_forgeries(js, streams)
    good = await publish(js, streams, event(EventType.STATUS, "r1", {"status": "online"}))
    await wait_for_checkpoint(database_url, good)
    tokens, dead = await read(database_url)
    assert_refused(tokens, dead, forged)
    after = metric(await asyncio.to_thread(scrape, projector_env), MISMATCHES)
    assert after - before == len(forged)
    conn = await asyncpg.connect(database_url)
    try:  # the event its subject vouches for, after them, is applied
        assert await conn.fetchval("SELECT status FROM robots WHERE robot_id = 'r1'") == "online"
    finally:
        await conn.close()


async def test_replay_refuses_them_too(js, streams, projector_env, database_url):
    forged = await publish_forgeries(js, streams)
    result = await replay(load_settings(projector_env), on_progress=None)
    assert result.last_seq == max(forged)
    assert_refused(*await read(database_url), forged)
