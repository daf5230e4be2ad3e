"""Text from outside (a robot, an HTTP client) made safe for one line of a log or a
PostgreSQL text column: printable, on one line, encodable as UTF-8, bounded."""

from __future__ import annotations

import re

# C0 and C1 control characters (NUL, CR, LF, ESC, ...), DEL, the Unicode line and paragraph
# separators, and lone surrogates (not encodable as UTF-8: a write to stderr would fail).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_text(value: str, limit: int | None = None) -> str:
    """`value` with every unsafe character written as a visible escape (`\\x00`, `\\n`,
    `\\u2028`, `\\udc80`), cut to `limit` characters (with `...` saying so) if given.
    Text without such characters comes back unchanged (the common case costs one search)."""
    if _UNSAFE.search(value) is not None:
        value = _UNSAFE.sub(_escape, value)
    if limit is not None and len(value) > limit:
        value = value[: max(0, limit - 3)] + "..."
    return value
