"""Reading the projector's schedule tables (docs/schedules.md): what the schedule endpoints
show and what the dispatcher (schedules.py) appends. Mixed into `reads.Reads`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from tonypi_events import read_tables

SCHEDULE_COLUMNS = read_tables.SCHEDULES.select()
FIRING_COLUMNS = f"{read_tables.SCHEDULE_FIRINGS.select('f')}, c.state AS command_state"


class ScheduleReads:
    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...  # reads.Reads
    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None: ...

    async def schedule(self, schedule_id: str) -> asyncpg.Record | None:
        return await self._fetchrow(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE schedule_id = $1", schedule_id
        )

    async def schedules(self, limit: int, before_seq: int | None) -> list[asyncpg.Record]:
        """One page of schedules, newest first (keyset on the sequence of job_scheduled)."""
        return await self._fetch(
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            before_seq if before_seq is not None else 2**63 - 1,
            limit,
        )

    async def firings(
        self, schedule_id: str, limit: int, before: tuple[datetime, str] | None
    ) -> list[asyncpg.Record]:
        """One page of a schedule's firings, newest occurrence first (then by robot), with
        each command's state; `before`: the (due_at, robot_id) the previous page ended with."""
        at, robot_id = before if before is not None else (None, None)
        return await self._fetch(
            f"SELECT {FIRING_COLUMNS} FROM schedule_firings f "
            "LEFT JOIN commands c ON c.command_id = f.command_id "
            "WHERE f.schedule_id = $1 AND ($3::timestamptz IS NULL OR f.due_at < $3 "
            "OR (f.due_at = $3 AND f.robot_id > $4)) "
            "ORDER BY f.due_at DESC, f.robot_id LIMIT $2",
            schedule_id,
            limit,
            at,
            robot_id,
        )

    async def due_firings(self, window_s: float) -> list[asyncpg.Record]:
        """Firings awaiting their command, fired within the last `window_s` seconds, with
        what the command needs from their schedule."""
        return await self._fetch(
            "SELECT f.command_id, f.schedule_id, f.robot_id, s.task_name, s.items_total, s.timeout_s, "
            "s.actor FROM schedule_firings f JOIN schedules s USING (schedule_id) "
            "WHERE f.state = 'due' AND f.fired_at > now() - make_interval(secs => $1::float8) "
            "ORDER BY f.fired_at, f.command_id",
            window_s,
        )
