"""The ports tests, benchmarks and `tonypi with-deps` give the servers they start."""

import socket

from tonypi_cli import ports


def test_never_the_same_port_twice_and_never_one_the_kernel_picks_itself():
    # CI once gave the embedded MQTT broker and the query service one port: the kernel
    # handed it out at two consecutive bind(0)s.
    handed = [ports.free_loopback_port() for _ in range(500)]
    assert len(set(handed)) == len(handed)
    assert all(ports.LOWEST <= port < ports._ephemeral_low() for port in handed)


def test_a_port_something_listens_on_is_passed_over(monkeypatch):
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        taken = listening.getsockname()[1]
        free = ports._from_kernel()
        candidates = iter([taken, taken, free])
        monkeypatch.setattr(ports._random, "choice", lambda _range: next(candidates))
        monkeypatch.setattr(ports, "_issued", set())
        assert ports.free_loopback_port() == free
