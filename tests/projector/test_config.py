"""The projector's settings: defaults, and one clear line naming the variable for a bad value."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tonypi_projector.catalogue import load_items
from tonypi_projector.config import load_settings
from tonypi_runtime.config import ConfigError

from tests.support.processes import BIN


def test_defaults():
    s = load_settings({})
    assert (s.batch_size, s.bind.host, s.bind.port, s.log_retention_days) == (1000, "127.0.0.1", 9102, 30.0)
    assert "QR12345" in load_items(s.item_catalogue_path)


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"PROJECTOR_BATCH_SIZE": "0"}, "PROJECTOR_BATCH_SIZE"),
        ({"PROJECTOR_BATCH_SIZE": "many"}, "PROJECTOR_BATCH_SIZE"),
        ({"LOG_RETENTION_DAYS": "-1"}, "LOG_RETENTION_DAYS"),
        ({"PROJECTOR_CONSUMER": "a.b"}, "PROJECTOR_CONSUMER"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)


def test_a_bad_catalogue_names_the_variable(tmp_path: Path):
    bad = tmp_path / "items.json"
    bad.write_text('{"QR1": {"sku": "x"}}')
    with pytest.raises(ConfigError, match=r"ITEM_CATALOGUE_PATH=.*lacks name"):
        load_items(bad)
    with pytest.raises(ConfigError, match=r"ITEM_CATALOGUE_PATH=.*not readable"):
        load_items(tmp_path / "missing.json")


def test_the_console_script_prints_one_line_and_exits_2_on_bad_config():
    out = subprocess.run(
        [str(BIN / "tonypi-projector")],
        env={"PROJECTOR_BATCH_SIZE": "zero", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "tonypi-projector: configuration error: PROJECTOR_BATCH_SIZE='zero' is not an integer"
    ]
