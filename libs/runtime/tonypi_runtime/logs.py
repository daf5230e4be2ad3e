"""Logging: one line per event worth a human's attention; JSON lines on request.

Log messages often carry text a robot or an HTTP client chose (a robot id, a topic, a
status). Both formats keep each record on its own line(s) whatever that text holds: the
text format escapes control characters (NUL, CR, LF, ESC, ...), lone surrogates and the
Unicode line separators in the message (`tonypi_runtime.text.escape_text`) and indents a
traceback's lines, so no input can forge a log line; the JSON format escapes them as
JSON does (ASCII only).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

from .text import escape_text

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)  # ensure_ascii: every control character escaped


class TextFormatter(logging.Formatter):
    """One line per record: the message escaped; a traceback's lines indented under it."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_text(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    # An exception's message may hold input; its lines cannot pass for records when every
    # line of the traceback starts with "    | ".
    return "\n".join("    | " + escape_text(line) for line in text.splitlines())


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class Throttled:
    """Logs a recurring condition at most once per `interval_s`, saying how many
    occurrences the quiet period held, so a flood becomes one line a minute, not one per message."""

    def __init__(self, log: logging.Logger, interval_s: float = 60.0, clock=None) -> None:
        self._log, self._interval = log, interval_s
        self._clock = clock or time.monotonic
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def log(self, level: int, key: str, msg: str, *args: object) -> None:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        self._last[key] = now
        quiet = self._suppressed.pop(key, 0)
        if quiet:
            msg += " (and %d more like it since the last such line)"
            args = (*args, quiet)
        self._log.log(level, msg, *args)

    def warning(self, key: str, msg: str, *args: object) -> None:
        self.log(logging.WARNING, key, msg, *args)

    def error(self, key: str, msg: str, *args: object) -> None:
        self.log(logging.ERROR, key, msg, *args)
