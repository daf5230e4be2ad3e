"""Issue 18, row 8: robot ids v2. Format characters (Cf) and ids not in NFC are refused with a
reason, at ingest and in the API alike (one rule, tonypi_events.identity), so two robots never
render alike in a table. Pure, so tested without brokers; the property covers any string."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tonypi_events.identity import robot_id_problem

NFC_CAFE = unicodedata.normalize("NFC", "café")
NFD_CAFE = unicodedata.normalize("NFD", "café")

REFUSED = [  # (id, words the reason must contain)
    ("robot\u200b7", "invisible format character (U+200B at character 6)"),  # zero-width space
    ("\u202erobot", "invisible format character (U+202E at character 1)"),  # right-to-left override
    ("\ufeffrobot", "invisible format character (U+FEFF"),  # byte order mark
    ("a\u2060b", "format character"),  # word joiner
    ("tag\U000e0041", "format character"),  # a tag character, outside the BMP
    (NFD_CAFE, "not in Unicode normal form NFC"),
    ("A\u030a", "NFC"),  # A + combining ring: Å has a composed form
]


@pytest.mark.parametrize(("robot_id", "words"), REFUSED, ids=repr)
def test_refused_with_a_reason(robot_id, words):
    problem = robot_id_problem(robot_id)
    assert problem is not None and words in problem


def test_the_composed_spelling_is_one_robot():
    assert robot_id_problem(NFC_CAFE) is None
    assert NFC_CAFE != NFD_CAFE and robot_id_problem(NFD_CAFE) is not None
    assert robot_id_problem("e\u0301") is not None and robot_id_problem("\u00e9") is None
    assert robot_id_problem("q\u0301") is None  # no composed form: this is NFC already


def rendered(text: str) -> str:
    """What a table shows: format characters are invisible, and canonically equivalent
    spellings draw the same glyphs."""
    return unicodedata.normalize("NFC", "".join(c for c in text if unicodedata.category(c) != "Cf"))


# Any string, with the tricky characters drawn often: combining marks, format characters,
# letters that compose, and the text hypothesis draws anyway.
TRICKY = st.sampled_from(
    ["e", "E", "a", "A", "\u0301", "\u0300", "\u030a", "\u200b", "\u202e", "\ufeff", "é"]
)
ANY_ID = st.one_of(st.text(max_size=140), st.lists(TRICKY, max_size=8).map("".join))


@settings(max_examples=2000, deadline=None)
@given(ANY_ID)
def test_any_string_is_refused_with_a_reason_or_one_robot(robot_id):
    problem = robot_id_problem(robot_id)
    if problem is not None:
        assert isinstance(problem, str) and problem.startswith("robot id")
        return
    assert unicodedata.is_normalized("NFC", robot_id)
    assert not any(unicodedata.category(c) == "Cf" for c in robot_id)
    assert rendered(robot_id) == robot_id  # what is accepted is exactly what a table shows


@settings(max_examples=2000, deadline=None)
@given(ANY_ID, ANY_ID)
def test_two_accepted_ids_never_render_alike(a, b):
    if robot_id_problem(a) is None and robot_id_problem(b) is None and a != b:
        assert rendered(a) != rendered(b)
