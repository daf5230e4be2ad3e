"""Pure logic, no I/O: cursors, SQL building, settings, the OpenAPI generator."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime

import pytest
from tonypi_query.api import ENDPOINTS
from tonypi_query.config import load_settings
from tonypi_query.errors import RequestValidationError
from tonypi_query.models import JobsQuery, LogsQuery
from tonypi_query.openapi import openapi_document, to_openapi_30
from tonypi_query.pagination import decode_cursor, decode_keyed_cursor, encode_cursor, encode_keyed_cursor
from tonypi_query.reads import jobs_sql, logs_sql
from tonypi_runtime.config import ConfigError

from tests.support.processes import BIN


def test_a_cursor_round_trips_and_a_forged_one_is_a_422():
    at = datetime(2026, 11, 26, 10, 15, 2, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, 4242)) == (at, 4242)
    for forged in ("bm90aGluZw", encode_cursor(at, 1)[:-3], "MjAyNi0xMS0yNnwx"):  # garbage, cut, naive time
        with pytest.raises(RequestValidationError) as caught:
            decode_cursor(forged)
        assert caught.value.issues[0]["loc"] == ["query", "before"]


def test_a_keyed_cursor_keeps_any_robot_id_and_an_int_cursor_refuses_text():
    at = datetime(2026, 11, 26, 10, 15, 2, 123456, tzinfo=UTC)
    for robot_id in ("r1", "a|b|c", "ロボット 1"):
        assert decode_keyed_cursor(encode_keyed_cursor(at, robot_id)) == (at, robot_id)
    for forged in (encode_keyed_cursor(at, "r1"), encode_cursor(at, 2**63)):  # not an id; past int64
        with pytest.raises(RequestValidationError):
            decode_cursor(forged)
    with pytest.raises(RequestValidationError):
        decode_keyed_cursor(encode_keyed_cursor(at, ""))


def test_log_filters_become_bind_parameters_never_sql_text():
    evil = "x'; DROP TABLE system_logs; --"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    query = LogsQuery(level="error", category=evil, robot_id="r1", q="50%_off\\", since=at, limit=7)
    sql, args = logs_sql(query, (at, 99))
    assert evil not in sql and "DROP" not in sql
    assert args == ["ERROR", evil, "r1", at, "%50\\%\\_off\\\\%", at, 99, 7]
    assert sql.count("$") == len(args)
    assert sql.endswith("ORDER BY timestamp DESC, id DESC LIMIT $8")


def test_job_filters_and_the_seed_defaults():
    sql, args = jobs_sql(JobsQuery(), None)
    assert "WHERE" not in sql and args == [50]
    assert LogsQuery().limit == 100
    sql, args = jobs_sql(JobsQuery(status="failed", robot_id="r"), None)
    assert args == ["r", "failed", 50] and "ORDER BY start_time DESC, id DESC" in sql


def test_time_filters_take_iso_and_a_lost_plus_but_no_bare_numbers():
    assert LogsQuery(since="2026-11-26T10:00:00 02:00").since.utcoffset().total_seconds() == 7200
    assert LogsQuery(since="2026-11-26T10:00:00").since.tzinfo == UTC  # naive means UTC
    assert LogsQuery(since="2026-11-26 10:00").since.hour == 10  # a space separator, no seconds
    with pytest.raises(ValueError, match="ISO 8601"):
        LogsQuery(since="1700000000")


def test_settings_defaults_and_one_line_errors():
    settings = load_settings({})
    assert (settings.bind.host, settings.bind.port) == ("127.0.0.1", 8000)
    assert (settings.write_wait_timeout, settings.fleet_gauge_top) == (5.0, 20)
    assert settings.cors_allow_origins == {"http://localhost:3001", "http://frontend:3000"}
    assert load_settings({"CORS_ALLOW_ORIGINS": ""}).cors_allow_origins == frozenset()
    listed = load_settings({"CORS_ALLOW_ORIGINS": " https://a.example , https://b.example"})
    assert listed.cors_allow_origins == {"https://a.example", "https://b.example"}
    with pytest.raises(ConfigError, match="WRITE_WAIT_TIMEOUT"):
        load_settings({"WRITE_WAIT_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="FLEET_GAUGE_TOP"):
        load_settings({"FLEET_GAUGE_TOP": "-1"})
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings({"LOG_FORMAT": "xml"})


def test_a_bad_setting_is_one_line_and_exit_2():
    result = subprocess.run(
        [str(BIN / "tonypi-query")],
        env={**os.environ, "DATABASE_URL": "mysql://x/y"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tonypi-query: configuration error: "
        "DATABASE_URL='mysql://x/y' must start with postgresql://, postgres://"
    ]


def test_the_document_describes_every_endpoint_from_its_models():
    doc = openapi_document(ENDPOINTS, "t", "1", "d")
    for endpoint in ENDPOINTS:
        operation = doc["paths"][endpoint.path][endpoint.method.lower()]
        names = {p["name"] for p in operation["parameters"]}
        for model in (endpoint.path_model, endpoint.query_model):
            # A parameter named by a keyword (`from`) is a field with an alias (`from_`).
            assert model is None or {f.alias or n for n, f in model.model_fields.items()} <= names
        assert ("requestBody" in operation) == (endpoint.body_model is not None)
        for ref in _refs(operation):
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref


def test_the_document_is_openapi_30_for_the_bundled_swagger_ui():
    doc = openapi_document(ENDPOINTS, "t", "1", "d")
    assert doc["openapi"] == "3.0.3"
    text = json.dumps(doc)
    assert '"type": "null"' not in text and '"const"' not in text and '"$defs"' not in text
    robot = doc["components"]["schemas"]["RobotOut"]["properties"]
    assert robot["last_seen"] == {
        "type": "string",
        "format": "date-time",
        "title": "Last Seen",
        "nullable": True,
    }
    battery = doc["components"]["schemas"]["TelemetryOut"]["properties"]["battery"]
    assert battery["allOf"] == [{"$ref": "#/components/schemas/BatteryPart"}] and battery["nullable"] is True
    assert to_openapi_30({"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}) == {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "nullable": True,
    }


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
