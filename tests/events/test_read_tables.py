"""The read-table declaration's own rules (tonypi_events.read_tables): pure, no database
(the comparison with the migrated database is tests/projector/test_read_tables.py)."""

from __future__ import annotations

import pytest
from tonypi_events import read_tables
from tonypi_events.read_tables import Column, Table
from tonypi_events.read_tables.shape import BIGINT, JSONB, TEXT, not_null


def test_a_select_list_is_the_served_columns_under_their_served_names():
    assert read_tables.EMERGENCY_STOPS.select() == "robot_id, engaged, command_id, reason, actor, changed_at"
    assert read_tables.SCHEDULES.select().split(", ")[1] == "seq AS sequence"
    assert read_tables.SYSTEM_LOGS.select("l", omit=("details",)) == (
        "l.id, l.level, l.category, l.message, l.robot_id, l.timestamp"
    )
    with pytest.raises(KeyError):
        read_tables.SYSTEM_LOGS.select(omit=("no_such_column",))
    with pytest.raises(ValueError):
        read_tables.LIVE_FEED.select()  # not served as rows


def test_json_ness_follows_the_type():
    assert Column("a", JSONB).is_json and not Column("a", TEXT).is_json


@pytest.mark.parametrize(
    "make",
    [
        lambda: Column("a", "varchar2"),
        lambda: Table("t", (not_null("a", BIGINT), Column("a", TEXT)), ("a",)),
        lambda: Table("t", (Column("a", BIGINT),), ("a",)),  # a nullable primary key
        lambda: Table("t", (not_null("a", BIGINT),), ("b",)),
        lambda: Table("t", (not_null("a", BIGINT),), ("a",), unique=((),)),
        lambda: Table("t", (not_null("a", BIGINT, served_as="b"),), ("a",)),  # not served
    ],
)
def test_a_declaration_that_cannot_be_true_is_refused(make):
    with pytest.raises(ValueError):
        make()


def test_every_table_is_declared_once():
    assert len({t.name for t in read_tables.TABLES}) == len(read_tables.TABLES)
    assert dict(read_tables.BY_NAME) == {t.name: t for t in read_tables.TABLES}
