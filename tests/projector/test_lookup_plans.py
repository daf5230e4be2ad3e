"""A batch's robot lookups never compare every row with every id, however the table grew.

PostgreSQL caches a generic plan for a prepared statement after a few executions. For
`robot_id = ANY($1)` made while `robots` held 1,500 never-analysed rows (the first batches
of a registration storm), that plan scans the whole table and compares each row with each
id; kept while the table grows, a batch's lookup cost grows with it. The lookups the
projector runs (store.SELECT_ROBOTS, SELECT_OPEN_ALARMS) join the ids instead: whatever
plan is cached, each row is looked up or hashed once."""

from __future__ import annotations

import asyncpg
import pytest
from tonypi_events.alarms import OPEN
from tonypi_projector import store

from ..conftest import PG_ADMIN_URL
from ..support.databases import create_database

pytestmark = pytest.mark.integration

GROWN = 18_000


@pytest.fixture
async def small_tables(database_url):
    """A migrated database with 1,500 robots (and an open alarm each), never analysed."""
    await create_database(database_url, PG_ADMIN_URL)
    conn = await asyncpg.connect(database_url)
    try:
        for table in ("robots", "alarms"):
            await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        await _grow(conn, 0, 1_500)
        yield conn
    finally:
        await conn.close()


async def _grow(conn, start: int, stop: int) -> None:
    await conn.execute(
        "INSERT INTO robots (id, robot_id) "
        "SELECT g, 'new_' || lpad(g::text, 6, '0') FROM generate_series($1::int, $2::int) g",
        start,
        stop - 1,
    )
    await conn.execute(
        "INSERT INTO alarms (id, robot_id, kind, severity, message, state, raised_at, updated_at) "
        "SELECT g, 'new_' || lpad(g::text, 6, '0'), 'offline', 'warning', 'm', $3, now(), now() "
        "FROM generate_series($1::int, $2::int) g",
        start,
        stop - 1,
        OPEN,
    )


@pytest.mark.parametrize(
    ("sql", "types", "extra"),
    [(store.SELECT_ROBOTS, "text[]", ""), (store.SELECT_OPEN_ALARMS, "text[], text", f", '{OPEN}'")],
    ids=["robots", "open alarms"],
)
async def test_the_generic_plan_made_on_a_small_table_never_compares_rows_with_the_array(
    small_tables, sql, types, extra
):
    conn = small_tables
    await conn.execute("SET plan_cache_mode = force_generic_plan")  # what a settled cache holds
    await conn.execute(f"PREPARE lookup({types}) AS {sql}")
    await conn.fetch(f"EXECUTE lookup('{{new_000001}}'{extra})")  # the plan is made now, at 1,500 rows
    await _grow(conn, 1_500, GROWN)
    ids = "{" + ",".join(f"new_{i:06d}" for i in range(GROWN - 1_000, GROWN)) + "}"
    plan = [r[0] for r in await conn.fetch(f"EXPLAIN (ANALYZE, TIMING OFF) EXECUTE lookup('{ids}'{extra})")]
    # `Filter: robot_id = ANY ($1)` over a scan: each row compared with each id (quadratic).
    assert not [line for line in plan if "Filter" in line and "ANY" in line], "\n".join(plan)
    assert len(await conn.fetch(f"EXECUTE lookup('{ids}'{extra})")) == 1_000
