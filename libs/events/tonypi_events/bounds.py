"""What a robot payload may hold, so that every reader can decode it and PostgreSQL can
store and index it: the one home of the bounds (docs/architecture.md, "Bounds").

- Size: at most MAX_PAYLOAD_BYTES of UTF-8 JSON, an object.
- Nesting: at most MAX_JSON_DEPTH levels (the payload object is level 1). Every reader
  (pydantic's JSON parser, PostgreSQL's JSONB) decodes far deeper than that.
- Numbers: finite. `NaN`, `Infinity` (not JSON at all) and literals beyond a double
  (`1e400`) are refused, so a payload is stored as the JSON value received, never with a
  number turned into `null`. Integers have at most MAX_INTEGER_DIGITS digits.
- Text: no NUL (U+0000) and no lone surrogate anywhere, in keys or values. PostgreSQL
  cannot hold either (text refuses NUL, JSONB refuses `\\u0000`, UTF-8 has no lone
  surrogates), so a message holding one is refused whole with the field named; it is
  never stored altered.
- Fields the projector stores in a column or index key (`Label`: status, level, source,
  sensor type, unit, task name, ...) hold at most LABEL_MAX_CHARS characters, free text
  (`Text`: log messages, reasons, QR data, ...) at most TEXT_MAX_CHARS. A btree key of
  LABEL_MAX_CHARS characters is at most 512 bytes, well under PostgreSQL's 2704.
- Integers the projector writes to INTEGER columns (`Int32`) fit 32 bits; counts (`Count`:
  items done and total, servo count) are also never negative.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

from pydantic import Field, FiniteFloat, StringConstraints

MAX_PAYLOAD_BYTES = 64 * 1024  # robots send well under 2 KiB
# An encoded event (envelope and payload) may be at most this big: TONYPI_EVENTS's
# max_msg_size. A payload within MAX_PAYLOAD_BYTES can grow when re-encoded (`1e9` is
# written `1000000000.0`); ingest refuses the rare one that would outgrow this as too_large.
MAX_EVENT_BYTES = 256 * 1024 - 4096  # headroom for the headers
MAX_JSON_DEPTH = 32  # robots send 3
MAX_INTEGER_DIGITS = 20  # 64-bit integers and a little more
LABEL_MAX_CHARS = 128
TEXT_MAX_CHARS = 8192

Label = Annotated[str, StringConstraints(max_length=LABEL_MAX_CHARS)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX_CHARS)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
# Counts (items done and total, servos): never negative; `items_done: -5` of 10 would make a
# job at -50 %. Refused with the field named (`invalid_fields`), never clamped.
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Number = FiniteFloat  # lax mode takes ints and numeric strings; "inf" and "nan" are refused


class PayloadProblem(ValueError):
    """Why a payload breaks the bounds. `code` is the rejection reason, `field` the dotted
    path of the offending value (`payload` for the document itself)."""

    def __init__(self, code: str, field: str, detail: str, value: Any = None) -> None:
        super().__init__(f"{field}: {detail}")
        self.code, self.field, self.detail, self.value = code, field, detail, value


class _NumberProblem(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NumberProblem(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberProblem(f"{text[:40]} is beyond a double's range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _NumberProblem(f"an integer of {len(text)} digits is longer than {MAX_INTEGER_DIGITS}")
    return int(text)


_DECODER = json.JSONDecoder(
    parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_reject_constant
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPES = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return f"contains NUL (U+0000) at character {text.index(chr(0)) + 1}"
    found = _SURROGATE.search(text)
    if found:
        return f"contains a lone surrogate (U+{ord(found.group()):04X}) at character {found.start() + 1}"
    return None


def _path(parts: tuple[Any, ...]) -> str:
    out = "payload"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out[:200]


def check_value(value: Any) -> None:
    """Raise PayloadProblem for a decoded JSON value too deep, or holding NUL or a lone
    surrogate in any key or string. Iterative: no depth makes it recurse."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if len(path) >= MAX_JSON_DEPTH:
                raise PayloadProblem("too_deep", _path(path), f"nested deeper than {MAX_JSON_DEPTH} levels")
            for key, item in node.items():
                problem = _text_problem(key)
                if problem:
                    raise PayloadProblem("invalid_text", _path((*path, key)), f"key {problem}")
                stack.append((item, (*path, key)))
        elif isinstance(node, list):
            if len(path) >= MAX_JSON_DEPTH:
                raise PayloadProblem("too_deep", _path(path), f"nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((item, (*path, n)) for n, item in enumerate(node))
        elif isinstance(node, str):
            problem = _text_problem(node)
            if problem:
                raise PayloadProblem("invalid_text", _path(path), problem, node)


def parse_payload(raw: bytes) -> Any:
    """The JSON value in `raw`, within the bounds above (the size is the caller's check).

    Raises PayloadProblem: `not_json` (not UTF-8 JSON), `too_deep`, `invalid_number`,
    `invalid_text`."""
    try:
        text = raw.decode("utf-8")
        value = _DECODER.decode(text)
    except _NumberProblem as exc:
        raise PayloadProblem("invalid_number", "payload", str(exc)) from None
    except RecursionError:
        raise PayloadProblem("too_deep", "payload", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PayloadProblem("not_json", "payload", f"not UTF-8 JSON: {exc}") from None
    # Only these escapes can make NUL or a lone surrogate (raw ones are not valid JSON or
    # UTF-8), and only this many brackets can nest too deep: most messages skip the walk.
    # The regex runs only on text holding an escape at all (`in` is cheap, a regex over
    # every message is not: `\u00b0` in "°C" is common).
    if ("\\u" in text and _ESCAPES.search(text)) or text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        check_value(value)
    return value


_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def safe_text(text: str, limit: int = TEXT_MAX_CHARS) -> str:
    """Server-written text that quotes robot input (a topic in a rejection, an error
    message): control characters, separators and lone surrogates written `\\xNN` /
    `\\uNNNN`, and cut to `limit` characters, so it can be stored, logged and sent as a
    header line. Robot data itself is never rewritten: it is stored as received or refused."""
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
