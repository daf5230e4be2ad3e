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

_RAW_BUCKETS = """
SELECT metric, date_bin($5::interval, t, 'epoch') AS b, min(value) AS min, max(value) AS max,
       avg(value) AS mean, (array_agg(value ORDER BY t DESC))[1] AS last, count(*) AS count
  FROM history_raw
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND t >= $3 AND t < $4
 GROUP BY 1, 2"""

_ROLLUP_BUCKETS = """
SELECT metric, date_bin($5::interval, bucket, 'epoch') AS b, min(min) AS min, max(max) AS max,
       (sum(sum) / sum(count))::float8 AS mean, (array_agg(last ORDER BY last_t DESC))[1] AS last,
       sum(count)::int8 AS count
  FROM {table}
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND bucket >= $3 AND bucket < $4
 GROUP BY 1, 2"""

# The step is the rollup's own bucket: its rows are the points ($5 unused but typed).
_ROLLUP_ROWS = """
SELECT metric, bucket AS b, min, max, (sum / count)::float8 AS mean, last, count
  FROM {table}
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND bucket >= $3 AND bucket < $4
   AND $5::interval IS NOT NULL"""

# Each metric's points as parallel arrays, in time order: a day of minutes for three metrics
# is 4,320 points; one row per metric decodes several times faster than one per point, and
# far faster than PostgreSQL formatting JSON (to_char, json_build_object) per point.
_POINTS = """
SELECT metric, array_agg(extract(epoch FROM b)::int8 ORDER BY b) AS t, array_agg(min ORDER BY b) AS min,
       array_agg(max ORDER BY b) AS max, array_agg(mean ORDER BY b) AS mean,
       array_agg(last ORDER BY b) AS last, array_agg(count ORDER BY b) AS count
  FROM ({buckets}) AS buckets GROUP BY metric"""

_FLEET = """
SELECT h.robot_id, min(h.min) AS min, max(h.max) AS max, (sum(h.sum) / sum(h.count))::float8 AS mean,
       (array_agg(h.last ORDER BY h.last_t DESC))[1] AS last, sum(h.count)::int8 AS count
  FROM {table} h JOIN robots r ON r.robot_id = h.robot_id AND r.is_active
 WHERE h.metric = $1 AND h.bucket >= $2 AND h.bucket < $3
 GROUP BY h.robot_id
 ORDER BY {order}, h.robot_id LIMIT $4"""

# The export: the table's own rows, no bucketing; a raw sample is a row of count 1. In the
# order the metrics were asked, then by time (the index is (robot_id, metric, t)).
_EXPORT_RAW = """
SELECT metric, t, value AS min, value AS max, value AS mean, value AS last, 1::int8 AS count
  FROM history_raw
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND t >= $3 AND t < $4
 ORDER BY array_position($2::text[], metric), t"""

_EXPORT_ROLLUP = """
SELECT metric, bucket AS t, min, max, (sum / count)::float8 AS mean, last, count
  FROM {table}
 WHERE robot_id = $1 AND metric = ANY($2::text[]) AND bucket >= $3 AND bucket < $4
 ORDER BY array_position($2::text[], metric), bucket"""

TABLES = {MINUTE: "history_minute", HOUR: "history_hour"}
ORDERS = {"lowest": "min ASC", "highest": "max DESC"}


def series_sql(source: str, step_s: int) -> str:
    if source == RAW:
        buckets = _RAW_BUCKETS
    elif step_s == WIDTH[source]:
        buckets = _ROLLUP_ROWS.format(table=TABLES[source])
    else:
        buckets = _ROLLUP_BUCKETS.format(table=TABLES[source])
    return _POINTS.format(buckets=buckets)


def fleet_sql(source: str, order: str) -> str:
    return _FLEET.format(table=TABLES[source], order=ORDERS[order])


def export_sql(robot_id: str, metrics: list[str], start: datetime, end: datetime, source: str):
    """(SQL, args) of the export of `source`'s rows over the range (a rollup's from the
    bucket holding `start`)."""
    if source == RAW:
        return _EXPORT_RAW, [robot_id, metrics, start, end]
    return _EXPORT_ROLLUP.format(table=TABLES[source]), [robot_id, metrics, bucket_floor(source, start), end]


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
        """Per metric with readings in the range: (metric, t, min, max, mean, last, count), each
        but the metric an array over its buckets in time order (`t` in epoch seconds)."""
        first = start if source == RAW else bucket_floor(source, start)
        return await self._fetch(
            series_sql(source, step_s), robot_id, metrics, first, end, timedelta(seconds=step_s)
        )

    async def fleet_history(
        self, metric: str, start: datetime, end: datetime, source: str, order: str, limit: int
    ) -> list[asyncpg.Record]:
        """Per active robot with data: (robot_id, min, max, mean, last, count), ordered."""
        return await self._fetch(fleet_sql(source, order), metric, bucket_floor(source, start), end, limit)
