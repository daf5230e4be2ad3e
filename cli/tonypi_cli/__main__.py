"""`tonypi <command>`: each command is a module with `add_arguments(parser)` and
`run(args) -> int`, registered here as data and imported only when called."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("tonypi_cli.up", "run the whole system and a simulated fleet, in the foreground"),
    "with-deps": (
        "tonypi_cli.with_deps",
        "run a command (make test: pytest) with MQTT, NATS and PostgreSQL answering",
    ),
    "simulate": ("tonypi_cli.simulate", "publish what a fleet of robots publishes, both generations"),
    "replay": (
        "tonypi_projector.replay_command",
        "rebuild the read tables from the event stream and swap them in",
    ),
    "projector": ("tonypi_projector.admin_command", "projector administration (dead-letters)"),
    "db": ("tonypi_projector.db_command", "PostgreSQL logins per service: roles (an administrator's step)"),
    "streams": ("tonypi_cli.streams", "declare the JetStream streams (an admin step; services wait for it)"),
    "token": ("tonypi_cli.token", "API bearer tokens: create (shown once), revoke, list"),
    "mqtt": ("tonypi_cli.mqtt_users", "per-robot MQTT credentials in a Mosquitto password file"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tonypi", description="TonyPi Fleet Monitor")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module_name)
        # Arguments are added lazily: only the chosen command's module is imported.
        if name in (argv if argv is not None else sys.argv[1:])[:1]:
            importlib.import_module(module_name).add_arguments(command_parser)
    args = parser.parse_args(argv)
    return importlib.import_module(args._module).run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
