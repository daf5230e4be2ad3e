"""What the live feed (`GET /events`, docs/live.md) publishes: an allow-list, versioned.

The projector builds each record from this table and nothing else: an event type not
listed here makes no record, a table not listed is left out of `rows`, a column not listed
is left out of its row. The query service shows a record only to a caller whose role is at
least the record's `role`. Adding a kind, table or column is a change of this file (and of
docs/live.md), never a side effect of a fold returning more.

Token events (`token_created`, `token_revoked`) never appear: token names, roles and
digests are for `tonypi token list`. Their `auth` log lines are read by admins in `/logs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from .envelope import EventType

SCHEMA_VERSION = 2  # v1: everything a fold returned, except api_tokens (a deny-list)
ROLES = ("viewer", "operator", "admin")  # ordered, as the API's roles
AUTH_LOG_CATEGORY = "auth"  # token lifecycle log lines: admins only, never fed


class FeedKind(StrEnum):
    """What a record is about, besides its event type (`kinds`, what `?kind=` filters by)."""

    ROBOT = "robot"  # the robot's row changed (`robot`: ROBOT_SUMMARY)
    JOB = "job"
    LOG = "log"
    COMMAND = "command"
    EMERGENCY_STOP = "emergency_stop"
    ALARM = "alarm"  # an alarm row or an entry of its history


FEED_KINDS = tuple(k.value for k in FeedKind)


@dataclass(frozen=True)
class FedEvent:
    role: str  # the least role that sees a record of this event type
    payload: bool  # the record carries the event's payload


@dataclass(frozen=True)
class FedTable:
    kind: str  # a FeedKind: what `?kind=` filters by
    columns: tuple[str, ...]  # the row's fields the record carries


_ROBOT_FACT = FedEvent("viewer", payload=True)
EVENTS = MappingProxyType(
    {
        # What robots say (their MQTT messages, as admitted).
        EventType.STATUS: _ROBOT_FACT,
        EventType.SENSOR: _ROBOT_FACT,
        EventType.BATTERY: _ROBOT_FACT,
        EventType.LOCATION: _ROBOT_FACT,
        EventType.SCAN: _ROBOT_FACT,
        EventType.JOB: _ROBOT_FACT,
        EventType.COMMAND_RESPONSE: _ROBOT_FACT,
        EventType.SERVOS: _ROBOT_FACT,
        EventType.VISION: _ROBOT_FACT,
        EventType.LOG: _ROBOT_FACT,
        EventType.EMERGENCY_STOP_RESPONSE: _ROBOT_FACT,
        EventType.INGEST_REJECTED: _ROBOT_FACT,  # reason, detail, topic, size: as /logs shows them
        # What operators did (the actor included: who acted is the fleet's audit trail).
        EventType.ROBOT_REGISTERED: _ROBOT_FACT,
        EventType.ROBOT_UPDATED: _ROBOT_FACT,
        EventType.ROBOT_DEACTIVATED: _ROBOT_FACT,
        EventType.COMMAND_REQUESTED: _ROBOT_FACT,
        EventType.EMERGENCY_STOP: _ROBOT_FACT,
        EventType.COMMAND_SENT: _ROBOT_FACT,
        EventType.ALARM_ACKNOWLEDGED: _ROBOT_FACT,
        EventType.JOB_SCHEDULED: _ROBOT_FACT,
        EventType.SCHEDULE_PAUSED: _ROBOT_FACT,
        EventType.SCHEDULE_RESUMED: _ROBOT_FACT,
        EventType.SCHEDULE_CANCELLED: _ROBOT_FACT,
        # The stream's time: only what it changed (robots gone offline, alarms, timeouts).
        EventType.CLOCK_TICK: FedEvent("viewer", payload=False),
    }
)

ROBOT_SUMMARY = ("robot_id", "name", "status", "last_seen", "is_active", "firmware")
TABLES = MappingProxyType(
    {
        "jobs": FedTable(
            FeedKind.JOB.value,
            (
                "id",
                "robot_id",
                "start_time",
                "end_time",
                "items_total",
                "items_done",
                "percent_complete",
                "last_item",
                "status",
                "task_name",
                "phase",
                "reason",
                "command_id",
                "created_at",
                "updated_at",
            ),
        ),
        "logs": FedTable(
            FeedKind.LOG.value, ("id", "level", "category", "message", "robot_id", "details", "timestamp")
        ),
        "commands": FedTable(
            FeedKind.COMMAND.value,
            (
                "command_id",
                "robot_id",
                "type",
                "params",
                "state",
                "wait",
                "timeout_s",
                "actor",
                "requested_at",
                "deadline",
                "updated_at",
                "sent_at",
                "sent_count",
                "finished_at",
                "response",
                "outcomes",
            ),
        ),
        "latches": FedTable(
            FeedKind.EMERGENCY_STOP.value,
            ("robot_id", "engaged", "command_id", "reason", "actor", "changed_at"),
        ),
        "alarms": FedTable(
            FeedKind.ALARM.value,
            (
                "id",
                "robot_id",
                "kind",
                "severity",
                "state",
                "message",
                "raised_at",
                "updated_at",
                "value",
                "threshold",
                "cleared_at",
                "acknowledged_at",
                "acknowledged_by",
                "details",
            ),
        ),
        "transitions": FedTable(
            FeedKind.ALARM.value,
            ("id", "alarm_id", "robot_id", "kind", "action", "severity", "at", "value", "actor", "message"),
        ),
    }
)


def visible_event_types(role: str | None) -> frozenset[str]:
    """The event types whose records a caller of `role` sees (None: anonymous, open reads)."""
    rank = ROLES.index(role) if role in ROLES else 0
    return frozenset(t.value for t, fed in EVENTS.items() if ROLES.index(fed.role) <= rank)
