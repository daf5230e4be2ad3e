"""Writing telemetry history, creating its partitions ahead and dropping them by retention.

Three tables partitioned by range on time (migrations/0015_history.sql): `history_raw`
(one row per sample, daily partitions), `history_minute` and `history_hour` (rollups:
min, max, sum, count, last per robot, metric and bucket; 7-day and 30-day partitions).
Partitions are aligned on the Unix epoch and named `<table>_pYYYYMMDD` after their start.

A batch's samples are written with ONE statement (unnest, then three inserts in CTEs): the
raw rows, and each rollup upserted with its bucket's partial aggregate merged in (least,
greatest, sums added, the later `last`), so any cut of the stream into batches ends in the
same rows (the sum is numeric: exact). A sample in a partition retention has already given
up (its end is older than the table's retention) is not written, so a live projector and a
replay keep the same partitions. Names are unqualified: the search_path picks the live
schema or a replay's staging one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from .rows import Sample

DAY = 86400


@dataclass(frozen=True)
class HistoryTable:
    name: str
    width_s: int  # partition width
    bucket: str | None  # rollup bucket (a date_bin interval); None: raw samples


RAW = HistoryTable("history_raw", DAY, None)
MINUTE = HistoryTable("history_minute", 7 * DAY, "1 minute")
HOUR = HistoryTable("history_hour", 30 * DAY, "1 hour")
TABLES = (RAW, MINUTE, HOUR)
PARENTS = tuple(t.name for t in TABLES)
AHEAD_S = 2 * DAY  # partitions created ahead of the clock by each maintenance pass


@dataclass(frozen=True)
class HistoryPolicy:
    """HISTORY_ENABLED and the retention of each table in days (0: kept forever)."""

    enabled: bool = True
    raw_days: float = 14.0
    minute_days: float = 90.0
    hour_days: float = 730.0

    def days(self, table: HistoryTable) -> float:
        return {RAW.name: self.raw_days, MINUTE.name: self.minute_days, HOUR.name: self.hour_days}[table.name]


def partition_start(table: HistoryTable, t: datetime) -> int:
    """Epoch seconds at which the partition holding `t` starts."""
    epoch = int(t.timestamp())
    return epoch - epoch % table.width_s


def partition_name(table: HistoryTable, start: int) -> str:
    return f"{table.name}_p{datetime.fromtimestamp(start, UTC):%Y%m%d}"


def partition_start_of(table: HistoryTable, name: str) -> int | None:
    """The start of a partition from its name, None for a name this module did not make."""
    prefix = f"{table.name}_p"
    if not name.startswith(prefix) or len(name) != len(prefix) + 8:
        return None
    try:
        return int(datetime.strptime(name[len(prefix) :], "%Y%m%d").replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def write_cutoff(table: HistoryTable, days: float, now: datetime) -> datetime | None:
    """Samples before this are not written to `table`: their partition's end is older than
    `days` (the partitions retention drops). None when kept forever."""
    if days <= 0:
        return None
    start = partition_start(table, now - timedelta(days=days))
    return datetime.fromtimestamp(start, UTC)


def _needed(table: HistoryTable, times: Iterable[datetime], cutoff: datetime | None) -> set[int]:
    return {partition_start(table, t) for t in times if cutoff is None or t >= cutoff}


async def ensure_partitions(conn: asyncpg.Connection, wanted: dict[HistoryTable, set[int]]) -> int:
    """Create the partitions in `wanted` that do not exist yet. Returns how many it made."""
    names = {partition_name(table, s): (table, s) for table, starts in wanted.items() for s in starts}
    if not names:
        return 0
    missing = await conn.fetch(
        "SELECT p FROM unnest($1::text[]) AS p WHERE to_regclass(quote_ident(p)) IS NULL ORDER BY p",
        list(names),
    )
    for row in missing:
        table, start = names[row["p"]]
        lower = datetime.fromtimestamp(start, UTC).isoformat()
        upper = datetime.fromtimestamp(start + table.width_s, UTC).isoformat()
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {row['p']} PARTITION OF {table.name} "
            f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
        )
    return len(missing)


def _rollup(table: HistoryTable, param: str) -> str:
    return (
        f"INSERT INTO {table.name} AS h (robot_id, metric, bucket, min, max, sum, count, last, last_t) "
        f"SELECT robot_id, metric, date_bin('{table.bucket}', t, 'epoch'), min(value), max(value), "
        "sum(value::numeric), count(*), (array_agg(value ORDER BY t DESC, n DESC))[1], max(t) "
        f"FROM s WHERE {param}::timestamptz IS NULL OR t >= {param} GROUP BY 1, 2, 3 "
        "ON CONFLICT (robot_id, metric, bucket) DO UPDATE SET "
        "min = LEAST(h.min, EXCLUDED.min), max = GREATEST(h.max, EXCLUDED.max), "
        "sum = h.sum + EXCLUDED.sum, count = h.count + EXCLUDED.count, "
        "last = CASE WHEN EXCLUDED.last_t >= h.last_t THEN EXCLUDED.last ELSE h.last END, "
        "last_t = GREATEST(h.last_t, EXCLUDED.last_t)"
    )


WRITE_SAMPLES = (
    "WITH s AS (SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[]) "
    "WITH ORDINALITY AS s(robot_id, metric, t, value, n)), "
    "raw AS (INSERT INTO history_raw (robot_id, metric, t, value) SELECT robot_id, metric, t, value "
    "FROM s WHERE $5::timestamptz IS NULL OR t >= $5), "
    f"minute AS ({_rollup(MINUTE, '$6')}) "
    f"{_rollup(HOUR, '$7')}"
)


async def write_samples(
    conn: asyncpg.Connection, samples: list[Sample], policy: HistoryPolicy, now: datetime | None = None
) -> None:
    """Inside the caller's transaction: the samples and their rollups, partitions first."""
    if not samples or not policy.enabled:
        return
    now = now or datetime.now(UTC)
    cutoffs = [write_cutoff(table, policy.days(table), now) for table in TABLES]
    times = [s.t for s in samples]
    wanted = {table: _needed(table, set(times), cut) for table, cut in zip(TABLES, cutoffs, strict=True)}
    await ensure_partitions(conn, wanted)
    await conn.execute(
        WRITE_SAMPLES,
        [s.robot_id for s in samples],
        [s.metric for s in samples],
        times,
        [s.value for s in samples],
        *cutoffs,
    )


async def partitions(conn: asyncpg.Connection, table: HistoryTable) -> list[str]:
    """The partitions of `table` in the search_path's schema, by name."""
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass($1) ORDER BY c.relname",
        table.name,
    )
    return [r["relname"] for r in rows]


async def maintain(conn: asyncpg.Connection, policy: HistoryPolicy, now: datetime | None = None) -> list[str]:
    """One pass, in the caller's transaction: create the partitions the next AHEAD_S seconds
    need, drop (whole) every partition whose end is older than its table's retention.
    Returns the dropped partitions' names."""
    now = now or datetime.now(UTC)
    wanted = {
        table: {partition_start(table, now + timedelta(seconds=s)) for s in range(0, AHEAD_S + 1, 3600)}
        for table in TABLES
    }
    await ensure_partitions(conn, wanted)
    dropped = []
    for table in TABLES:
        days = policy.days(table)
        if days <= 0:
            continue
        oldest_end = (now - timedelta(days=days)).timestamp()
        for name in await partitions(conn, table):
            start = partition_start_of(table, name)
            if start is not None and start + table.width_s <= oldest_end:
                await conn.execute(f"DROP TABLE {name}")
                dropped.append(name)
    return dropped
