"""The JSON columns' decoder answers like json.loads, for any text, with fresh containers."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from tonypi_runtime.postgres import json_value

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
