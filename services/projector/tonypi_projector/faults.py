"""What a failure while applying events is: one event's fault, or the database's or process's."""

from __future__ import annotations

import asyncpg

from . import store

# Batches take it shared; `tonypi replay` takes it exclusive for its final catch-up and swap.
TABLES_LOCK_KEY = 0x7470_7461_626C  # "tptabl"

# SQLSTATE classes an event's content can cause: 22 data exception (a number out of range,
# a NUL in text, a value asyncpg cannot encode), 23 integrity constraint, 54 program limit
# exceeded ("index row requires ... bytes"). Everything else the server says (connection,
# resources, operator intervention, permissions, serialization) is retried, never blamed on
# the event.
_EVENT_SQLSTATE_CLASSES = frozenset({"22", "23", "54"})
# Python-side failures that are about the process or the connection, not the event.
_NOT_THE_EVENT = (store.CheckpointMoved, OSError, TimeoutError, MemoryError, asyncpg.InterfaceError)
ERROR_LOG_CHARS = 500


def event_fault(exc: BaseException) -> bool:
    """Whether `exc`, raised while applying events, can be one event's fault (so that event
    is dead-lettered if it fails alone) rather than the database's or the process's."""
    if isinstance(exc, asyncpg.PostgresError):  # also asyncpg's client-side encoding DataError
        return (exc.sqlstate or "")[:2] in _EVENT_SQLSTATE_CLASSES
    if isinstance(exc, _NOT_THE_EVENT):
        return False
    # RecursionError, ValueError, TypeError, UnicodeError, OverflowError ... while encoding.
    return isinstance(exc, Exception)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
