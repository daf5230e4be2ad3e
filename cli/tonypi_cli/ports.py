"""Loopback ports for servers a test, a benchmark or `tonypi with-deps` is about to start.

Asking the kernel (bind to port 0, close, hand the number on) is racy twice over: the
kernel may hand the same port out again at the next bind(0) (CI saw the embedded MQTT
broker and the query service given one port), and it hands ports from the same ephemeral
range to every outgoing connection, so one can take the port before the server binds it.
So the ports come from below the ephemeral range, where the kernel never picks on its own,
and this process never hands one out twice.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LINUX_EPHEMERAL_LOW = 32768  # ip_local_port_range's default first port
LOWEST = 10000  # below: the ports well-known and registered services tend to use
ATTEMPTS = 200

_issued: set[int] = set()
_random = random.SystemRandom()  # not the global generator: tests may seed that


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return LINUX_EPHEMERAL_LOW


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _from_kernel() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now and this process has not handed out."""
    low = _ephemeral_low()
    below = range(LOWEST, low) if low - LOWEST >= 1000 else None
    for _ in range(ATTEMPTS):
        port = _random.choice(below) if below else _from_kernel()
        if port not in _issued and _bindable(port):
            _issued.add(port)
            return port
    raise RuntimeError(f"no free loopback port after {ATTEMPTS} attempts")
