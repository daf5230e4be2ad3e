"""Ingest's readers of the stream (the command deliverer, the presence follower) believe an
event only when its subject vouches for it (tonypi_events.authority, docs/security.md): a
forged `emergency_stop` release or command on another writer's subject is ignored, counted
and logged (throttled), never sent to a robot nor taken as the fleet's state."""

from __future__ import annotations

import logging

from tonypi_events import EventEnvelope, Subjects
from tonypi_events.authority import subject_problem
from tonypi_runtime.logs import Throttled
from tonypi_runtime.text import escape_text

from . import metrics

log = logging.getLogger("tonypi_ingest.authority")
_throttled = Throttled(log)


def refused(reader: str, subject: str, event: EventEnvelope, subjects: Subjects) -> bool:
    """True (counted, logged at most once a minute per reader) when `event` must be ignored."""
    problem = subject_problem(subject, event, subjects)
    if problem is None:
        return False
    refused_for(reader, problem)
    return True


def refused_for(reader: str, problem: str) -> None:
    """Count and log (at most once a minute per reader) an event `reader` ignores."""
    metrics.SUBJECT_MISMATCHES.labels(reader).inc()
    _throttled.error(reader, "%s ignored an event: %s", reader, escape_text(problem, 500))
