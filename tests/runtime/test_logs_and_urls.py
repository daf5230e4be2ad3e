"""tonypi_runtime: log lines escape what robots and clients chose (text and JSON formats),
and DATABASE_URL keeps every parameter for the driver while hiding its secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest
from tonypi_runtime.config import ConfigError
from tonypi_runtime.connections import database_url
from tonypi_runtime.logs import JsonFormatter, TextFormatter
from tonypi_runtime.text import escape_text

HOSTILE = "c36\x00x\r\n2026-12-01 00:00:00,000 ERROR forged: line\x1b[31m\u2028\udc80end"


def _emit(formatter: logging.Formatter, *args, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.escape.{id(formatter)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    if exc:
        try:
            raise ValueError(HOSTILE)
        except ValueError:
            logger.exception("robot %s failed", HOSTILE)
    else:
        logger.warning("robot %s said %s", *args)
    return stream.getvalue()


def test_text_lines_escape_control_characters_and_surrogates():
    out = _emit(TextFormatter(), HOSTILE, HOSTILE)
    assert out.count("\n") == 1 and out.endswith("\n")
    assert "\x00" not in out and "\r" not in out and "\x1b" not in out and "\u2028" not in out
    assert "c36\\x00x\\r\\n2026" in out and "\\udc80end" in out
    out.encode("utf-8")  # writable: no lone surrogate left


def test_a_traceback_cannot_forge_a_record():
    out = _emit(TextFormatter(), exc=True)
    first, *rest = out.rstrip("\n").split("\n")
    assert "robot c36\\x00x" in first
    assert rest and all(line.startswith("    | ") for line in rest)


def test_json_lines_escape_everything():
    out = _emit(JsonFormatter(), HOSTILE, HOSTILE)
    assert out.count("\n") == 1 and out.isascii()
    assert json.loads(out)["msg"].startswith("robot c36\x00x\r\n")


def test_escape_text_bounds_and_leaves_plain_text_alone():
    assert escape_text("robot-1 ok") == "robot-1 ok"
    assert escape_text("x" * 50, 10) == "xxxxxxx..."


def test_database_url_keeps_its_parameters_and_hides_secrets(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-")
    url = database_url(
        {
            "DATABASE_URL": f"postgresql://u:s3cret@db:5433/tonypi?sslmode=verify-full&sslrootcert={ca}&sslpassword=pw"
        }
    )
    assert url.with_credentials.endswith(f"/tonypi?sslmode=verify-full&sslrootcert={ca}&sslpassword=pw")
    assert "s3cret" not in url.redacted and "pw" not in url.redacted.split("?")[1]
    assert "sslmode=verify-full" in url.redacted


@pytest.mark.parametrize(
    "query, problem",
    [("sslmode=verify", "sslmode"), ("sslmode=require&sslrootcert=/nonexistent/ca.pem", "sslrootcert")],
)
def test_database_url_tls_mistakes_are_config_errors(query, problem):
    with pytest.raises(ConfigError, match=problem):
        database_url({"DATABASE_URL": f"postgresql://u@db/tonypi?{query}"})
