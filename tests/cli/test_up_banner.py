"""`make run`'s ready banner says how open it is (issue 16 row 10)."""

from __future__ import annotations

from tonypi_cli.up import where_to_look


def test_the_banner_says_make_run_is_open_on_loopback():
    lines = where_to_look({}, "tpk_x")
    assert "  security: open (no auth on MQTT/NATS, loopback only) — see docs/security.md" in lines
    assert lines.index(lines[1]) == 1 and lines[1].startswith("  security:")


def test_the_banner_does_not_call_configured_logins_open():
    lines = where_to_look({"NATS_USER": "admin", "MQTT_USERNAME": "ingest"}, "tpk_x")
    assert not any("security: open" in line for line in lines)
    assert any(line.startswith("  security: broker logins as configured") for line in lines)
