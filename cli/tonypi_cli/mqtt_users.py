"""`tonypi mqtt add-robot|add-user|remove`: per-client MQTT credentials in a Mosquitto
password file (the broker's ACL, deploy/k8s/base/mosquitto/acl, binds a robot's user name
to its own topics, so the user name of a robot is its robot id).

The password is made here (256 random bits), printed once, and only its hash is written.
The hash is made by `mosquitto_passwd` when it is installed; otherwise in Mosquitto 2's
own format (`$7$`: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt, base64) through the
standard library's `hashlib.pbkdf2_hmac`, the one Mosquitto's own tool computes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tonypi_events.identity import robot_id_problem
from tonypi_events.reserved import MQTT_SERVICE_USERS

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default for $7$
SALT_BYTES = 12
SERVICE_USERS = MQTT_SERVICE_USERS  # the ACL's named users


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mqtt_command", required=True, metavar="SUBCOMMAND")
    robot = sub.add_parser("add-robot", help="credentials for one robot (user name = robot id)")
    robot.add_argument("robot_id")
    user = sub.add_parser(
        "add-user", help="credentials for a named user of the ACL (ingest; sim for a demonstration fleet)"
    )
    user.add_argument("name", choices=SERVICE_USERS)
    remove = sub.add_parser("remove", help="remove a user (its sessions end at the broker's next reload)")
    remove.add_argument("name")
    for p in (robot, user, remove):
        p.add_argument("--password-file", type=Path, required=True, help="the Mosquitto password file")


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _entries(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    lines = (line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
    return {user: hashed for user, hashed in lines}


def _write(path: Path, entries: dict[str, str]) -> None:
    """Atomically, mode 0600: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".passwd-")
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{user}:{hashed}\n" for user, hashed in sorted(entries.items()))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def set_password(path: Path, user: str, password: str) -> None:
    tool = shutil.which("mosquitto_passwd") or shutil.which("mosquitto_passwd", path="/usr/bin:/usr/sbin")
    if tool:
        if not path.exists():
            _write(path, {})
        subprocess.run([tool, "-b", str(path), user, password], check=True, capture_output=True, timeout=30)
        return
    _write(path, {**_entries(path), user: mosquitto_hash(password)})


def add(path: Path, user: str) -> str:
    password = secrets.token_urlsafe(32)
    set_password(path, user, password)
    return password


def run(args: argparse.Namespace) -> int:
    if args.mqtt_command == "remove":
        entries = _entries(args.password_file)
        if entries.pop(args.name, None) is None:
            print(f"tonypi mqtt: no user {args.name!r} in {args.password_file}", file=sys.stderr)
            return 1
        _write(args.password_file, entries)
        print(f"removed {args.name}; reload the broker (SIGHUP) or restart it")
        return 0
    user = args.robot_id if args.mqtt_command == "add-robot" else args.name
    # A robot's user name is its robot id: the one rule, reserved ids included (a login
    # named `response` would read every robot's answers through the ACL's %u patterns).
    problem = robot_id_problem(user) if args.mqtt_command == "add-robot" else None
    if problem:
        print(f"tonypi mqtt: {user!r} cannot be a robot's user name: {problem}", file=sys.stderr)
        return 2
    password = add(args.password_file, user)
    print(f"MQTT credentials for {user} (the password is shown only now):")
    print(f"  username: {user}")
    print(f"  password: {password}")
    print(f"written to {args.password_file}; reload the broker (SIGHUP) or restart it")
    return 0
