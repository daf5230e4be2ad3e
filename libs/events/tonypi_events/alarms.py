"""Alarm kinds and severities: the projector raises them, the query service filters and
exports them. Bounded sets: they are Prometheus label values. See docs/alarms.md."""

from __future__ import annotations

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
