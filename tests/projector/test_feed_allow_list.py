"""Issue 16, row 7, pure: the live-feed record is built from the declared allow-list
(tonypi_events.live_feed), not from whatever a fold returned."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

from tonypi_events import EventType, live_feed
from tonypi_projector import feed, rows
from tonypi_projector.folds.context import Outcome

from .support import event

AT = datetime(2026, 12, 1, tzinfo=UTC)
ROW_TYPES = {
    "jobs": rows.Job,
    "logs": rows.LogEntry,
    "commands": rows.Command,
    "latches": rows.Latch,
    "alarms": rows.Alarm,
    "transitions": rows.AlarmTransition,
}


def _log(category: str, message: str) -> rows.LogEntry:
    return rows.LogEntry(1, "INFO", category, message, None, {"name": "x"}, AT)


def test_every_event_type_is_decided_and_token_events_are_never_fed():
    undecided = set(EventType) - set(live_feed.EVENTS) - {EventType.TOKEN_CREATED, EventType.TOKEN_REVOKED}
    assert undecided == set()
    for role in (None, *live_feed.ROLES):
        assert {"token_created", "token_revoked"}.isdisjoint(live_feed.visible_event_types(role))


def test_every_declared_column_is_a_column_of_its_row():
    assert set(live_feed.TABLES) == set(ROW_TYPES)
    for table, spec in live_feed.TABLES.items():
        names = {f.name for f in dataclasses.fields(ROW_TYPES[table])}
        assert set(spec.columns) <= names, table
    assert set(live_feed.ROBOT_SUMMARY) <= {f.name for f in dataclasses.fields(rows.Robot)}


def test_a_token_event_makes_no_record_whatever_it_wrote():
    created = event(
        EventType.TOKEN_CREATED, "_tokens", {"name": "t", "role": "admin", "token_sha256": "0" * 64}
    )
    written = {"tokens": (object(),), "logs": (_log("auth", "Token created: t (admin)"),)}
    assert feed.entry(7, created, None, written, 100) is None


def test_only_declared_tables_and_columns_are_carried():
    @dataclass(frozen=True)
    class Secret:
        value: str

    job = rows.Job(id=1, robot_id="r1", start_time=AT, created_at=AT)
    record = feed.entry(
        8,
        event(EventType.JOB, "r1", {"status": "in_progress"}, version=2),
        None,
        {"jobs": (job,), "secrets": (Secret("x"),), "logs": (_log("auth", "t"), _log("job", "started"))},
        100,
    )
    assert record.data["schema"] == live_feed.SCHEMA_VERSION
    assert set(record.data["rows"]) == {"jobs", "logs"}  # an undeclared table is left out
    assert set(record.data["rows"]["jobs"][0]) == set(live_feed.TABLES["jobs"].columns)
    assert "robot_start_time" not in record.data["rows"]["jobs"][0]  # an undeclared column too
    assert [line["category"] for line in record.data["rows"]["logs"]] == ["job"]  # no auth line
    assert record.kinds == ("job", "log")
    assert record.data["payload"] == {"robot_id": "r1", "status": "in_progress"}


def test_a_tick_carries_what_it_changed_not_its_payload():
    robot = rows.Robot(id=1, robot_id="r1", name="r1", created_at=AT, telemetry={"cpu": 1})
    tick = event(EventType.CLOCK_TICK, "_clock", {"period_s": 1, "offline_after_s": 90})
    record = feed.entry(9, tick, robot, {}, 100)
    assert "payload" not in record.data
    assert record.data["robot"] == {k: getattr(robot, k) for k in live_feed.ROBOT_SUMMARY}  # no telemetry
    assert feed.entry(10, tick, None, {}, 100) is None  # it changed nothing


def test_every_row_an_outcome_carries_is_fed_or_deliberately_not():
    """A fold that starts writing a new kind of row must decide whether the feed carries it:
    feed.FROM_FOLDS (with live_feed.TABLES), or the list of those it never carries here."""
    never_fed = {"tokens", "samples"}  # token events make no record; the history has its own API
    # Annotations are text here (postponed): a tuple of rows names a row class, not str or tuple.
    row_fields = {
        f.name
        for f in dataclasses.fields(Outcome)
        if f.type.startswith("tuple[") and not f.type.startswith(("tuple[str", "tuple[tuple"))
    }
    assert row_fields == set(feed.FROM_FOLDS) | never_fed
    assert set(feed.FROM_FOLDS) | set(feed.FROM_BATCH) == set(live_feed.TABLES)
