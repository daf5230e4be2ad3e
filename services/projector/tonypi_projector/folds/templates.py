"""A log message's template: what stays when the parts that vary are taken out, so the same
fault reported many times (another servo, another id, another reading) counts as one.

Pure and bounded: robot-supplied text is data, never a pattern. In this order: quoted
strings -> `<str>`, ISO dates and times -> `<time>`, UUIDs -> `<uuid>`, hex numbers (`0x1f`,
or a run of 8+ hex digits holding a digit) -> `<hex>`, numbers (signed, decimal, exponent)
-> `<n>`; then runs of whitespace become one space, control characters are escaped, and the
result is cut to TEMPLATE_CHARS (with `...`). An empty message is `<empty>`.
"""

from __future__ import annotations

import re

from tonypi_runtime.text import escape_text

TEMPLATE_CHARS = 200
# Only the first this many characters are looked at: a huge message costs no more than this.
SCAN_CHARS = 2000

_QUOTED = re.compile(r"\"[^\"\n]{0,500}\"|'[^'\n]{0,500}'|`[^`\n]{0,500}`")
_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_HEX = re.compile(r"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]{0,63}[0-9])[0-9a-fA-F]{8,64}\b")
_NUMBER = re.compile(r"(?:(?<!\w)[-+])?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SPACES = re.compile(r"\s+")


def message_template(message: str) -> str:
    text = message[:SCAN_CHARS]
    text = _QUOTED.sub("<str>", text)
    text = _TIME.sub("<time>", text)
    text = _UUID.sub("<uuid>", text)
    text = _HEX.sub("<hex>", text)
    text = _NUMBER.sub("<n>", text)
    text = _SPACES.sub(" ", text).strip()
    if not text:
        return "<empty>"
    return escape_text(text, TEMPLATE_CHARS)
