"""The invariants between the contract's constants, each with the reason it must hold, and
the vocabularies of tonypi_events against the places that spell them again (SQL that must
match a partial index, the migrations' checks, the API's models)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import tonypi_projector
from tonypi_events import StreamNames, alarms, commanding, live_feed
from tonypi_events.stream import DUPLICATE_WINDOW_S
from tonypi_projector.folds import alarm_lifecycle
from tonypi_projector.store import OPEN_STATES_SQL
from tonypi_query.command_models import CommandStateName, EventsQuery
from tonypi_query.commands import EMERGENCY_STOP_TIMEOUT_S
from tonypi_query.schedule_dispatcher import DISPATCH_WINDOW_S

MIGRATIONS = Path(tonypi_projector.__file__).parent / "migrations"


def _in_list(sql: str) -> set[str]:
    return set(re.findall(r"'([a-z_]+)'", sql))


def test_every_command_deadline_falls_inside_the_duplicate_window():
    # Ingest claims a command (Nats-Msg-Id `sent-<id>`) before publishing it; a request
    # redelivered before its deadline must still find that claim, or the robot gets it twice.
    assert StreamNames().duplicate_window_s == DUPLICATE_WINDOW_S
    assert commanding.MAX_TIMEOUT_S < DUPLICATE_WINDOW_S
    assert EMERGENCY_STOP_TIMEOUT_S <= commanding.MAX_TIMEOUT_S


def test_a_scheduled_firing_is_dispatched_inside_the_duplicate_window():
    # Every replica appends a due firing's command as `schedule-<firing id>` while the firing
    # is within DISPATCH_WINDOW_S: the stream must still remember the first append.
    assert DISPATCH_WINDOW_S < DUPLICATE_WINDOW_S


def test_the_projector_reads_open_commands_through_the_partial_index():
    # The planner uses idx_commands_open only when the query's literals match its predicate.
    index = (MIGRATIONS / "0007_commands_live_feed.sql").read_text()
    predicate = re.search(r"idx_commands_open ON commands\(deadline\) WHERE state IN \(([^)]*)\)", index)
    assert predicate is not None
    assert predicate.group(1) == OPEN_STATES_SQL
    assert _in_list(OPEN_STATES_SQL) == {s.value for s in commanding.OPEN_STATES}


def test_the_alarm_states_are_the_tables_check():
    check = re.search(
        r"state VARCHAR NOT NULL CHECK \(state IN \(([^)]*)\)\)", (MIGRATIONS / "0006_alarms.sql").read_text()
    )
    assert check is not None
    assert _in_list(check.group(1)) == set(alarms.ALARM_STATES)


def test_the_api_names_every_command_state():
    assert set(typing.get_args(CommandStateName)) == {s.value for s in commanding.CommandState}
    assert set(commanding.CommandState) == commanding.OPEN_STATES | commanding.FINAL_STATES


def test_the_alarm_lifecycle_writes_only_declared_actions():
    written = {
        alarm_lifecycle.RAISED,
        alarm_lifecycle.ESCALATED,
        alarm_lifecycle.DEESCALATED,
        alarm_lifecycle.CLEARED_ACTION,
        alarm_lifecycle.ACKNOWLEDGED,
    }
    assert written == set(alarms.ALARM_ACTIONS)
    assert all(type(action) is str for action in written)  # stored and fed as plain text


def test_every_feed_kind_is_declared_and_documented_in_the_api():
    kinds = {table.kind for table in live_feed.TABLES.values()} | {live_feed.FeedKind.ROBOT}
    assert kinds == set(live_feed.FEED_KINDS)
    description = EventsQuery.model_fields["kind"].description
    assert all(kind in description for kind in live_feed.FEED_KINDS)
