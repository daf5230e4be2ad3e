"""The JSON columns' codec: the decoder answers like json.loads, for any text, with fresh
containers; the encoder (orjson) accepts what json.dumps accepts and writes the same value."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st
from tonypi_runtime.postgres import json_text, json_value

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(values)
def test_any_text_reads_as_json_loads_reads_it(value):
    text = json.dumps(value)
    assert json_value(text) == json.loads(text)


def test_the_empty_containers_are_fresh_each_time():
    first, again = json_value("{}"), json_value("{}")
    first["k"] = 1
    assert again == {} and json_value("[]") == [] and json_value("[]") is not json_value("[]")


values_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=5)

# Anything a row may hold, and what json.dumps refuses or writes as no JSON at all: integers
# past 64 bits, NaN and infinities, non-string keys, lone surrogates, times (only through
# `default`), nesting deeper than orjson goes.
keys = st.text() | st.integers() | st.none()
hostile = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(st.characters())
    | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)


def _stamp(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _same_meaning(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_meaning(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_meaning(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


# What rows hold (orjson writes all of it), NaN and infinities included.
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.sampled_from([math.nan, math.inf, -math.inf])  # st.floats() draws these rarely
    | values_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(values_text, inner, max_size=3),
    max_leaves=6,
)


@given(st.one_of(plain, hostile), st.booleans())
@example({"battery": math.nan, "ok": None}, False)
def test_the_encoder_writes_what_json_dumps_writes_as_a_value(value, with_default):
    default = _stamp if with_default else None
    try:
        expected = json.dumps(value, default=default)
    except (TypeError, ValueError) as refused:
        try:
            json_text(value, default=default)
        except type(refused):
            return
        raise AssertionError(f"json.dumps refused {value!r} ({refused}); json_text did not") from None
    written = json_text(value, default=default)
    assert _same_meaning(json.loads(written), json.loads(expected))
    if "NaN" in expected or "Infinity" in expected:  # no JSON: PostgreSQL must still refuse it
        assert written == expected


def test_a_deep_value_falls_back_rather_than_fails():
    deep: list = []
    for _ in range(600):  # beyond orjson's 255 levels, within json.dumps's recursion
        deep = [deep]
    assert json.loads(json_text(deep)) == deep


def test_the_common_row_takes_orjson():
    assert (
        json_text({"battery": {"percentage": 50.5}, "at": "x"}) == '{"battery":{"percentage":50.5},"at":"x"}'
    )
