"""The supervisor with real child processes: prefixed output, readiness, stop order,
a child that dies, a child that will not stop."""

import asyncio
import io
import signal
import sys

import pytest
from tonypi_cli.supervisor import ChildExited, ProcessSpec, Supervisor

# A child that says it started, and on SIGTERM says it is stopping and exits 0.
POLITE = """
import signal, sys, time
name = sys.argv[1]
def bye(*_):
    print(name, "stopping", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print(name, "started", flush=True)
time.sleep(60)
"""


def child(name: str, code: str = POLITE, **kwargs) -> ProcessSpec:
    return ProcessSpec(name, (sys.executable, "-c", code, name), {"PATH": "/usr/bin:/bin"}, **kwargs)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


async def wait_for_line(out: io.StringIO, line: str, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.05)):
        if line in lines(out):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{line!r} not in {lines(out)}")


async def test_later_groups_stop_first_and_output_is_prefixed():
    out = io.StringIO()
    supervisor = Supervisor(out, name_width=6)
    await supervisor.start_group([child("broker")])
    await wait_for_line(out, "broker| broker started")
    await supervisor.start_group([child("svc1"), child("svc2")])
    await wait_for_line(out, "svc1  | svc1 started")
    await wait_for_line(out, "svc2  | svc2 started")

    assert await supervisor.stop_all() is True
    order = [line for line in lines(out) if "stopping" in line]
    assert order.index("broker| broker stopping") == 2, order  # after both services
    assert all(c.process.returncode == 0 for c in supervisor.children)


async def test_a_child_that_exits_on_its_own_is_reported():
    supervisor = Supervisor(io.StringIO())
    await supervisor.start_group([child("steady"), child("short", "import sys; sys.exit(3)")])
    exited = await asyncio.wait_for(supervisor.wait_for_exit_or(asyncio.Event()), 10)
    assert exited is not None and exited.spec.name == "short" and exited.process.returncode == 3
    assert await supervisor.stop_all() is True


async def test_readiness_waits_and_fails_when_the_child_dies():
    flag = asyncio.Event()

    async def ready():
        return flag.is_set(), "flag not set"

    supervisor = Supervisor(io.StringIO())
    group = await supervisor.start_group([child("svc", ready=ready)])
    with pytest.raises(TimeoutError, match="svc: flag not set"):
        await supervisor.wait_ready(group, timeout=0.5)
    flag.set()
    await supervisor.wait_ready(group, timeout=5)

    dying = await supervisor.start_group(
        [
            child(
                "dies",
                "import time, sys; time.sleep(0.3); sys.exit(5)",
                ready=lambda: asyncio.sleep(0, (False, "never")),
            )
        ]
    )
    with pytest.raises(ChildExited, match="dies exited with code 5"):
        await supervisor.wait_ready(dying, timeout=10)
    await supervisor.stop_all()


async def test_a_child_that_ignores_its_stop_signal_is_killed():
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    out = io.StringIO()
    supervisor = Supervisor(out)
    [started] = await supervisor.start_group([child("stubborn", stubborn, stop_timeout=0.5)])
    await wait_for_line(out, "stubborn  | up")
    assert await supervisor.stop_all() is False
    assert started.process.returncode == -signal.SIGKILL
    assert "stubborn: did not stop within 0.5s; killing it" in lines(out)
