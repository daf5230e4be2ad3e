"""Appending real events to a test's stream, as ingest (robot messages) would, and
waiting for the real projector to apply them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from tonypi_cli.token import token_event
from tonypi_events import (
    CURRENT_VERSION,
    EventEnvelope,
    EventType,
    StreamNames,
    encode,
    headers_for,
    new_event_id,
)
from tonypi_events.clock import bucket_start, publish_tick, tick_event
from tonypi_projector.migrations import apply_migrations
from tonypi_runtime.tokens import new_api_token, token_digest


class Fleet:
    """Publishes robot events with chosen receive times onto the test's events stream."""

    def __init__(self, js: JetStreamContext, names: StreamNames, database_url: str) -> None:
        self.js, self.names, self.database_url = js, names, database_url
        self.last_seq = 0

    async def publish(
        self,
        event_type: EventType,
        robot_id: str,
        payload: dict[str, Any],
        *,
        at: datetime | None = None,
        version: int | None = None,
    ) -> int:
        event = EventEnvelope(
            event_id=new_event_id(),
            event_type=event_type,
            schema_version=version or CURRENT_VERSION[event_type],
            robot_id=robot_id,
            received_at=at or datetime.now(UTC),
            source=f"tonypi/{event_type.value}/{robot_id}",
            payload={"robot_id": robot_id, **payload},
        )
        ack = await self.js.publish(
            self.names.subjects.event(robot_id, event_type),
            encode(event),
            stream=self.names.events,
            headers=headers_for(event),
        )
        self.last_seq = max(self.last_seq, ack.seq)
        return ack.seq

    async def status(
        self, robot_id: str, status: str = "online", *, at: datetime | None = None, **extra: Any
    ) -> int:
        return await self.publish(EventType.STATUS, robot_id, {"status": status, **extra}, at=at)

    async def log(
        self,
        robot_id: str,
        message: str,
        level: str = "INFO",
        *,
        at: datetime | None = None,
        source: str = "main",
    ) -> int:
        return await self.publish(
            EventType.LOG, robot_id, {"level": level, "message": message, "source": source}, at=at
        )

    async def job(self, robot_id: str, status: str, *, at: datetime | None = None, **extra: Any) -> int:
        return await self.publish(EventType.JOB, robot_id, {"status": status, **extra}, at=at)

    async def tick(self, at: datetime | None = None, offline_after_s: float = 90) -> int:
        """The stream's clock, at `at` (default now), as the projector's emitter would send it."""
        event = tick_event(bucket_start(at or datetime.now(UTC), 1), 1, offline_after_s)
        ack = await publish_tick(self.js, self.names, event)
        self.last_seq = max(self.last_seq, ack.seq)
        return ack.seq

    async def alarm_id(self, robot_id: str, kind: str) -> int:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetchval(
                "SELECT id FROM alarms WHERE robot_id = $1 AND kind = $2 ORDER BY id DESC LIMIT 1",
                robot_id,
                kind,
            )
        finally:
            await conn.close()

    async def applied(self, seq: int | None = None, timeout: float = 30.0) -> None:
        """Wait until the projector's checkpoint reaches `seq` (default: the last published)."""
        target = self.last_seq if seq is None else seq
        conn = await asyncpg.connect(self.database_url)
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                try:
                    done = await conn.fetchval(
                        "SELECT last_seq FROM projection_checkpoint WHERE projection = 'read_tables'"
                    )
                except asyncpg.UndefinedTableError:
                    done = None
                if done is not None and done >= target:
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"projector did not reach sequence {target} (at {done})")
                await asyncio.sleep(0.05)
        finally:
            await conn.close()


def minutes_ago(n: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=n)


async def publish_token(
    js: JetStreamContext, names: StreamNames, database_url: str, name: str, role: str, timeout: float = 30
) -> str:
    """Make a token the way `tonypi token create` does (its event, with only the digest) and
    wait until the real projector has applied it. Returns the token."""
    token = new_api_token()
    event = token_event(
        EventType.TOKEN_CREATED, {"name": name, "role": role, "token_sha256": token_digest(token)}
    )
    await js.publish(
        names.subjects.event(event.robot_id, event.event_type),
        encode(event),
        stream=names.events,
        headers=headers_for(event),
    )
    await wait_for_token_row(database_url, token_digest(token), timeout)
    return token


async def publish_revoke(js: JetStreamContext, names: StreamNames, name: str) -> int:
    event = token_event(EventType.TOKEN_REVOKED, {"name": name})
    ack = await js.publish(
        names.subjects.event(event.robot_id, event.event_type),
        encode(event),
        stream=names.events,
        headers=headers_for(event),
    )
    return ack.seq


async def wait_for_token_row(
    database_url: str, digest: str, timeout: float, *, revoked: bool = False
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                row = await conn.fetchrow("SELECT revoked_at FROM api_tokens WHERE token_sha256 = $1", digest)
            except asyncpg.UndefinedTableError:
                row = None
            if row is not None and (row["revoked_at"] is not None) == revoked:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the projector did not apply the token within {timeout} s")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def grant_token(database_url: str, name: str, role: str) -> str:
    """A token for an app over a database no projector fills (bare_api): the projector's
    migrations, then the row the token_created fold would write."""
    token = new_api_token()
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn)
        await conn.execute(
            "INSERT INTO api_tokens (name, token_sha256, role, created_at) VALUES ($1, $2, $3, now())",
            name,
            token_digest(token),
            role,
        )
    finally:
        await conn.close()
    return token
