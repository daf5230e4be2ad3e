"""Reading the telemetry history the projector writes (docs/history.md): one robot's series
bucketed by a step, and one metric across the fleet. Mixed into `reads.Reads`.

Raw samples are aggregated per bucket (min, max, mean, last, count); rollups are merged per
bucket (min of mins, max of maxes, sum of sums over sum of counts, the latest last), so a
spike inside a bucket is always in its `max`. Each read touches only the partitions of its
range (the planner prunes by `t` / `bucket`). A rollup read includes the bucket holding
`from` (bucket_floor).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from .history_plan import HOUR, MINUTE, RAW, WIDTH

_RAW_SERIES = """
SELECT metric, date_bin($5::interval, t, 'epoch') AS t, min(value) AS min, max(value) AS max,
       avg(value) AS mean, (array_agg(value ORDER BY t DESC))[1] AS last, count(*) AS count
  FROM history_raw
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND t >= $3 AND t < $4
 GROUP BY 1, 2 ORDER BY 1, 2"""

_ROLLUP_SERIES = """
SELECT metric, date_bin($5::interval, bucket, 'epoch') AS t, min(min) AS min, max(max) AS max,
       (sum(sum) / sum(count))::float8 AS mean, (array_agg(last ORDER BY last_t DESC))[1] AS last,
       sum(count)::int8 AS count
  FROM {table}
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND bucket >= $3 AND bucket < $4
 GROUP BY 1, 2 ORDER BY 1, 2"""

_FLEET = """
SELECT h.robot_id, min(h.min) AS min, max(h.max) AS max, (sum(h.sum) / sum(h.count))::float8 AS mean,
       (array_agg(h.last ORDER BY h.last_t DESC))[1] AS last, sum(h.count)::int8 AS count
  FROM {table} h JOIN robots r ON r.robot_id = h.robot_id AND r.is_active
 WHERE h.metric = $1 AND h.bucket >= $2 AND h.bucket < $3
 GROUP BY h.robot_id
 ORDER BY {order}, h.robot_id LIMIT $4"""

TABLES = {MINUTE: "history_minute", HOUR: "history_hour"}
ORDERS = {"lowest": "min ASC", "highest": "max DESC"}


def series_sql(source: str) -> str:
    return _RAW_SERIES if source == RAW else _ROLLUP_SERIES.format(table=TABLES[source])


def fleet_sql(source: str, order: str) -> str:
    return _FLEET.format(table=TABLES[source], order=ORDERS[order])


def bucket_floor(source: str, start: datetime) -> datetime:
    """A rollup read starts at the bucket holding `start`: a range never loses its first
    bucket's readings (it may gain that bucket's few before `start`)."""
    width = WIDTH[source]
    return datetime.fromtimestamp(int(start.timestamp()) // width * width, start.tzinfo)


class HistoryReads:
    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...  # reads.Reads

    async def history(
        self, robot_id: str, metrics: list[str], start: datetime, end: datetime, step_s: int, source: str
    ) -> list[asyncpg.Record]:
        """(metric, t, min, max, mean, last, count) per metric and bucket, in that order."""
        return await self._fetch(series_sql(source), robot_id, metrics, start, end, timedelta(seconds=step_s))

    async def fleet_history(
        self, metric: str, start: datetime, end: datetime, source: str, order: str, limit: int
    ) -> list[asyncpg.Record]:
        """Per active robot with data: (robot_id, min, max, mean, last, count), ordered."""
        return await self._fetch(fleet_sql(source, order), metric, bucket_floor(source, start), end, limit)
