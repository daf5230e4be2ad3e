"""Alarm kinds, severities, states and the actions of an alarm's history: the projector
raises them, the query service filters and exports them. Bounded sets: they are Prometheus
label values. See docs/alarms.md."""

from __future__ import annotations

from enum import StrEnum

BATTERY = "battery"
TEMPERATURE = "temperature"
SERVO = "servo"
EMERGENCY_STOP = "emergency_stop"
OFFLINE = "offline"
JOB_FAILED = "job_failed"
ALARM_KINDS = (BATTERY, TEMPERATURE, SERVO, EMERGENCY_STOP, OFFLINE, JOB_FAILED)

WARNING = "warning"
CRITICAL = "critical"
SEVERITIES = (WARNING, CRITICAL)

OPEN = "open"
CLEARED = "cleared"
ALARM_STATES = (OPEN, CLEARED)


class AlarmAction(StrEnum):
    """What one entry of an alarm's history (`alarm_transitions.action`) did."""

    RAISED = "raised"
    ESCALATED = "escalated"  # warning -> critical, in place
    DEESCALATED = "deescalated"  # critical -> warning, in place
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"


ALARM_ACTIONS = tuple(a.value for a in AlarmAction)
