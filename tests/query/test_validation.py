"""Bad input: a 422 in FastAPI's shape with a readable reason, never a 500. The HTTP layer
decides this alone, so these run against in-memory reads and writes (the fast tier)."""

from __future__ import annotations

import pytest
from tonypi_query.fields import MAX_PAGE_SIZE

from .conftest import API


def assert_422(body: dict, loc: list, type_: str) -> None:
    issues = body["detail"]
    match = [i for i in issues if i["loc"] == loc]
    assert match, f"no issue at {loc}: {issues}"
    assert match[0]["type"] == type_
    assert len(match[0]["msg"]) > 10  # a sentence a person can act on


@pytest.mark.parametrize(
    "path, params, loc, type_",
    [
        ("logs", {"limit": "abc"}, ["query", "limit"], "int_parsing"),
        ("logs", {"limit": "-1"}, ["query", "limit"], "greater_than_equal"),
        ("logs", {"limit": str(MAX_PAGE_SIZE + 1)}, ["query", "limit"], "less_than_equal"),
        ("logs", {"limit": "1" + "0" * 30}, ["query", "limit"], "less_than_equal"),
        ("logs", {"since": "yesterday"}, ["query", "since"], "datetime_from_date_parsing"),
        ("logs", {"before": "not-a-cursor"}, ["query", "before"], "value_error"),
        ("logs", {"before": "a b"}, ["query", "before"], "string_pattern_mismatch"),
        ("logs", {"robot_id": "x\x00y"}, ["query", "robot_id"], "string_pattern_mismatch"),
        ("logs", {"q": ""}, ["query", "q"], "string_too_short"),
        ("jobs/history", {"limit": "1.5"}, ["query", "limit"], "int_parsing"),
        ("logs", {"limit": "0.0"}, ["query", "limit"], "int_parsing"),
        ("robots", {"limit": "10.0"}, ["query", "limit"], "int_parsing"),
        ("jobs/history", {"limit": "-5"}, ["query", "limit"], "greater_than_equal"),
        ("jobs/history", {"until": "2026-13-40"}, ["query", "until"], "datetime_from_date_parsing"),
        ("jobs/x", {}, ["path", "id"], "int_parsing"),
        ("jobs/99999999999999999999", {}, ["path", "id"], "less_than_equal"),
    ],
)
async def test_bad_query_and_path_values(fake_api, path, params, loc, type_):
    response = await fake_api.get(f"{API}/{path}", params=params)
    assert response.status == 422
    assert_422(await response.json(), loc, type_)


@pytest.mark.parametrize(
    "body, loc, type_",
    [
        (b'{"robot_id": "x",', ["body"], "json_invalid"),
        (b"not json", ["body"], "json_invalid"),
        (b"", ["body"], "missing"),
        (b"[1, 2]", ["body"], "model_type"),
        (b'{"name": "no id"}', ["body", "robot_id"], "missing"),
        (b'{"robot_id": 7}', ["body", "robot_id"], "string_type"),
        (b'{"robot_id": ""}', ["body", "robot_id"], "value_error"),
        (b'{"robot_id": "a/b"}', ["body", "robot_id"], "value_error"),
        (
            b'{"robot_id": "x", "battery_threshold_low": "low"}',
            ["body", "battery_threshold_low"],
            "float_type",
        ),
        (
            b'{"robot_id": "x", "battery_threshold_low": "25"}',
            ["body", "battery_threshold_low"],
            "float_type",
        ),
        (
            b'{"robot_id": "x", "battery_threshold_low": NaN}',
            ["body", "battery_threshold_low"],
            "finite_number",
        ),
        (b'{"robot_id": "x", "name": ["a"]}', ["body", "name"], "string_type"),
        (b'{"robot_id": "x", "colour": "red"}', ["body", "colour"], "extra_forbidden"),
    ],
)
async def test_bad_create_bodies(fake_api, body, loc, type_):
    response = await fake_api.post(f"{API}/robots", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 422, await response.text()
    assert_422(await response.json(), loc, type_)


async def test_validation_reports_every_problem_at_once(fake_api):
    response = await fake_api.post(f"{API}/robots", json={"name": 1, "extra": True})
    issues = (await response.json())["detail"]
    assert sorted(tuple(i["loc"]) for i in issues) == [
        ("body", "extra"),
        ("body", "name"),
        ("body", "robot_id"),
    ]


async def test_unknown_paths_and_methods_answer_fastapi_style(fake_api):
    missing = await fake_api.get("/api/robots-db/nothing")
    assert (missing.status, await missing.json()) == (404, {"detail": "Not Found"})
    wrong = await fake_api.patch(f"{API}/robots")
    assert (wrong.status, await wrong.json()) == (405, {"detail": "Method Not Allowed"})
    assert set(wrong.headers["Allow"].split(",")) == {"GET", "HEAD", "POST"}


async def test_an_oversized_body_is_413_not_500(fake_api):
    response = await fake_api.post(
        f"{API}/robots",
        data=b'{"robot_id": "' + b"x" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert "detail" in await response.json()


async def test_a_plus_sign_lost_in_a_query_string_still_parses(fake_api):
    # "+02:00" sent unencoded arrives as " 02:00"
    response = await fake_api.get(f"{API}/logs?since=2026-01-01T10:00:00+02:00")
    assert response.status == 200
