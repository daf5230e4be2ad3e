"""Issue 16, row 8: `tonypi token` records that it was the CLI, and refuses a token name that
would pass for an OIDC subject or the CLI. Pure: refused before any connection."""

from __future__ import annotations

import argparse

import pytest
from tonypi_cli import token


def test_the_cli_actor_says_it_was_the_cli():
    actor = token.cli_actor()
    assert actor["via"] == "cli" and actor["name"].startswith("cli:") and actor["role"] == "admin"


@pytest.mark.parametrize("name", ["oidc:idp.example:alice", "cli:root", "oidc:x"])
def test_a_token_name_in_another_namespace_is_refused(name, capsys):
    args = argparse.Namespace(token_command="create", name=name, role="admin", wait=0, quiet=False)
    assert token.run(args) == 2
    assert "may not start with oidc: or cli:" in capsys.readouterr().err
