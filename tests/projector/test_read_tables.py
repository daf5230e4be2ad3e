"""The read-table declaration (tonypi_events.read_tables) is the database the migrations
build: every table, every column's type and nullability in order, every key, both ways (a
column or table in the database that is not declared fails as a declared one missing does)."""

from __future__ import annotations

import asyncpg
import pytest
from tonypi_events import read_tables
from tonypi_projector import history_store

from tests.conftest import PG_ADMIN_URL
from tests.support.databases import create_database

# Tables of the current schema that are not partitions (the projector makes those at run time).
COLUMNS = """
SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable = 'YES' AS nullable
  FROM information_schema.columns c
  JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = current_schema()::regnamespace
 WHERE c.table_schema = current_schema() AND NOT k.relispartition
 ORDER BY c.table_name, c.ordinal_position"""
KEYS = """
SELECT t.table_name, t.constraint_type, array_agg(k.column_name::text ORDER BY k.ordinal_position) AS cols
  FROM information_schema.table_constraints t
  JOIN information_schema.key_column_usage k
    ON k.constraint_schema = t.constraint_schema AND k.constraint_name = t.constraint_name
   AND k.table_name = t.table_name
 WHERE t.table_schema = current_schema() AND t.constraint_type IN ('PRIMARY KEY', 'UNIQUE')
 GROUP BY t.table_name, t.constraint_name, t.constraint_type"""


@pytest.fixture
async def migrated(database_url):
    await create_database(database_url, PG_ADMIN_URL)
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


def _declared_columns() -> dict[str, list[tuple[str, str, bool]]]:
    return {t.name: [(c.name, c.type, c.nullable) for c in t.columns] for t in read_tables.TABLES}


async def test_every_table_and_column_is_declared_as_the_migrations_make_it(migrated):
    actual: dict[str, list[tuple[str, str, bool]]] = {}
    for r in await migrated.fetch(COLUMNS):
        actual.setdefault(r["table_name"], []).append((r["column_name"], r["udt_name"], r["nullable"]))
    declared = _declared_columns()
    assert sorted(actual) == sorted(declared), "tables"
    for table, columns in declared.items():
        assert actual[table] == columns, table


async def test_every_primary_key_and_unique_constraint_is_declared(migrated):
    actual = {(r["table_name"], r["constraint_type"], tuple(r["cols"])) for r in await migrated.fetch(KEYS)}
    declared = {(t.name, "PRIMARY KEY", t.primary_key) for t in read_tables.TABLES if t.primary_key}
    declared |= {(t.name, "UNIQUE", key) for t in read_tables.TABLES for key in t.unique}
    assert actual == declared


async def test_partitioned_tables_are_declared_as_such(migrated):
    partitioned = {
        r[0]
        for r in await migrated.fetch(
            "SELECT relname FROM pg_class WHERE relkind = 'p' "
            "AND relnamespace = current_schema()::regnamespace"
        )
    }
    assert partitioned == {t.name for t in read_tables.TABLES if t.partitioned}
    assert set(history_store.PARENTS) == partitioned  # the ones the projector makes partitions of
