"""A missing tool: fails when make install should have brought it (PyPI carries it) or when
CI requires every tool (TONYPI_REQUIRE_TOOLS=1); otherwise skipped with a one-line reason."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped

from tests.support import tools


@pytest.fixture
def nothing_installed(monkeypatch):
    monkeypatch.setattr(tools, "find_tool", lambda name: None)


def test_a_tool_pypi_does_not_carry_is_skipped_with_its_reason(nothing_installed, monkeypatch):
    monkeypatch.setattr(tools, "REQUIRE_TOOLS", False)
    with pytest.raises(Skipped, match=r"promtool is not installed and PyPI does not carry it") as skipped:
        tools.tool("promtool")
    assert "\n" not in str(skipped.value) and "install-tools.sh" in str(skipped.value)


def test_ci_requires_every_tool(nothing_installed, monkeypatch):
    monkeypatch.setattr(tools, "REQUIRE_TOOLS", True)
    with pytest.raises(Failed, match=r"promtool is not installed; install it with: bash deploy/ci"):
        tools.tool("promtool")


def test_a_tool_make_install_brings_always_fails_when_missing(nothing_installed, monkeypatch):
    monkeypatch.setattr(tools, "REQUIRE_TOOLS", False)
    with pytest.raises(Failed, match=r"kubectl is not installed"):
        tools.tool("kubectl")


def test_a_present_tool_is_found_by_path():
    assert tools.tool("ruff").endswith("/ruff")
