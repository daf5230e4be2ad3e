"""Reading the analytics tables (docs/analytics.md) and streaming exports through a
server-side cursor. Mixed into `reads.Reads`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from .analytics_models import AnalyticsQuery, ErrorsQuery
from .errors import Unavailable

# The bucket's first day: constant SQL chosen by the validated `bucket`, never request text.
_BUCKETS = {"day": "day", "week": "date_trunc('week', day)::date"}
EXPORTS_AT_ONCE = 2  # per replica: each holds one pooled connection while it streams
EXPORT_PREFETCH = 500  # rows fetched from the cursor at a time: the memory an export holds


def _filters(query: AnalyticsQuery) -> tuple[str, str, str, list[Any]]:
    """(bucket expression, robot column, WHERE, args) of `query`."""
    args: list[Any] = [query.from_, query.to]
    where = "WHERE day >= $1 AND day <= $2"
    if query.robot_id is not None:
        args.append(query.robot_id)
        where += " AND robot_id = $3"
    robot = "robot_id" if query.grouped_by_robot else "NULL::text"
    return _BUCKETS[query.bucket], robot, where, args


def utilization_sql(query: AnalyticsQuery) -> tuple[str, list[Any]]:
    day, robot, where, args = _filters(query)
    args.append(query.limit)
    return (
        f"SELECT {day} AS day, {robot} AS robot_id, sum(online_us)::int8 AS online_us, "
        f"sum(busy_us)::int8 AS busy_us FROM analytics_utilization {where} "
        f"GROUP BY 1, 2 ORDER BY 1, 2 LIMIT ${len(args)}",
        args,
    )


def _limited(table: str, columns: str, query: AnalyticsQuery, keys_from: str) -> tuple[str, list[Any]]:
    """`columns` of `table` summed per (bucket, robot), for the first `limit` (bucket, robot)
    pairs that `keys_from` holds in the range."""
    day, robot, where, args = _filters(query)
    args.append(query.limit)
    return (
        f"WITH k AS (SELECT DISTINCT {day} AS day, {robot} AS robot_id FROM {keys_from} {where} "
        f"ORDER BY 1, 2 LIMIT ${len(args)}), "
        f"g AS (SELECT {day} AS day, {robot} AS robot_id, {columns} FROM {table} {where} "
        "GROUP BY 1, 2, 3, 4) "
        "SELECT g.* FROM g JOIN k ON g.day = k.day AND g.robot_id IS NOT DISTINCT FROM k.robot_id "
        "ORDER BY g.day, g.robot_id",
        args,
    )


def outcomes_sql(query: AnalyticsQuery) -> tuple[str, list[Any]]:
    return _limited(
        "analytics_job_outcomes", "status, reason, sum(jobs)::int8 AS jobs", query, "analytics_job_outcomes"
    )


def performance_sql(query: AnalyticsQuery) -> tuple[str, list[Any]]:
    day, robot, where, args = _filters(query)
    args.append(query.limit)
    return (
        f"SELECT {day} AS day, {robot} AS robot_id, sum(jobs)::int8 AS jobs, sum(items)::int8 AS items, "
        f"sum(duration_us)::int8 AS duration_us FROM analytics_performance {where} "
        f"GROUP BY 1, 2 ORDER BY 1, 2 LIMIT ${len(args)}",
        args,
    )


def buckets_sql(query: AnalyticsQuery) -> tuple[str, list[Any]]:
    return _limited(
        "analytics_job_buckets", "measure, le, sum(jobs)::int8 AS jobs", query, "analytics_performance"
    )


def errors_sql(query: ErrorsQuery) -> tuple[str, list[Any]]:
    _, robot, where, args = _filters(query)
    args.append(query.limit)
    return (
        f"SELECT {robot} AS robot_id, level, template, sum(occurrences)::int8 AS occurrences, "
        "count(DISTINCT robot_id)::int8 AS robots, min(day) AS first_day, max(day) AS last_day, "
        "(array_agg(example ORDER BY day, robot_id))[1] AS example "
        f"FROM analytics_errors {where} GROUP BY 1, 2, 3 "
        f"ORDER BY occurrences DESC, template, level, robot_id LIMIT ${len(args)}",
        args,
    )


class AnalyticsReads:
    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...  # reads.Reads

    @property
    def pool(self) -> asyncpg.Pool: ...  # reads.Reads

    _exports: asyncio.Semaphore | None = None

    async def _rows(self, built: tuple[str, list[Any]]) -> list[asyncpg.Record]:
        sql, args = built
        return await self._fetch(sql, *args)

    async def utilization(self, query: AnalyticsQuery) -> list[asyncpg.Record]:
        return await self._rows(utilization_sql(query))

    async def job_outcomes(self, query: AnalyticsQuery) -> list[asyncpg.Record]:
        return await self._rows(outcomes_sql(query))

    async def performance(self, query: AnalyticsQuery) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
        return await self._rows(performance_sql(query)), await self._rows(buckets_sql(query))

    async def error_patterns(self, query: ErrorsQuery) -> list[asyncpg.Record]:
        return await self._rows(errors_sql(query))

    async def export(self, sql: str, args: list[Any]) -> AsyncIterator[asyncpg.Record]:
        """The rows of `sql`, read through a server-side cursor EXPORT_PREFETCH at a time, in
        one read-only transaction (a consistent snapshot). At most EXPORTS_AT_ONCE at a time:
        another is refused (503) rather than queued behind a long download."""
        if self._exports is None:
            self._exports = asyncio.Semaphore(EXPORTS_AT_ONCE)
        if self._exports.locked():
            raise Unavailable(f"{EXPORTS_AT_ONCE} exports are running on this replica; retry later")
        async with self._exports, self.pool.acquire() as conn, conn.transaction(readonly=True):
            async for row in conn.cursor(sql, *args, prefetch=EXPORT_PREFETCH):
                yield row
