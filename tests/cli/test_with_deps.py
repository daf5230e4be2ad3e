"""`tonypi with-deps` (what `make test` runs pytest under), both paths: on a bare machine
(nothing answers where the tests look) it starts embedded MQTT, NATS and PostgreSQL on free
ports and hands their URLs to the command; where they answer, it uses them and starts
nothing. Only loopback addresses are ever used."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import psutil
import pytest

from tests.support.ports import free_port

from .conftest import BASE_ENV

pytestmark = pytest.mark.slow  # starts embedded servers (initdb): leave out with -m 'not slow'

# Talks to each dependency for real, prints what it was given, exits 3 (passed through).
CHECK = textwrap.dedent(
    """
    import asyncio, os
    import aiomqtt, asyncpg, nats

    async def main():
        nc = await nats.connect(os.environ["TEST_NATS_URL"], allow_reconnect=False)
        await nc.jetstream().account_info()
        await nc.close()
        conn = await asyncpg.connect(os.environ["TEST_PG_ADMIN_URL"])
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
        host, port = os.environ["TEST_MQTT_URL"].removeprefix("mqtt://").split(":")
        async with aiomqtt.Client(host, int(port)):
            pass
        for name in ("TEST_NATS_URL", "TEST_MQTT_URL", "TEST_PG_ADMIN_URL"):
            print(name, os.environ[name], flush=True)

    asyncio.run(main())
    raise SystemExit(3)
    """
)
WITH_DEPS = [sys.executable, "-m", "tonypi_cli", "with-deps", "--"]


def nothing_answers_env() -> dict[str, str]:
    return {
        **BASE_ENV,
        "TEST_NATS_URL": f"nats://127.0.0.1:{free_port()}",
        "TEST_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
        "TEST_PG_ADMIN_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
    }


@pytest.mark.timeout(180)
def test_bare_machine_gets_embedded_servers_and_then_running_ones_are_reused():
    """Outer with-deps: nothing answers, so it embeds all three. The inner one, run under
    it, finds them answering and uses them as they are. The check talks to each for real."""
    env = nothing_answers_env()
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(
        [*WITH_DEPS, *WITH_DEPS, sys.executable, "-c", CHECK],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 3, out  # the command's own exit code
    for name, kind in (("mqtt", "amqtt"), ("nats", "nats-server"), ("postgres", "PostgreSQL 16")):
        assert f"with-deps: {name}: started embedded {kind}" in out, out  # outer
        assert f"with-deps: {name}: using " in out and "(already running)" in out, out  # inner
    given = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith("TEST_"))
    for variable in ("TEST_NATS_URL", "TEST_MQTT_URL", "TEST_PG_ADMIN_URL"):
        assert given[variable] != env[variable] and "127.0.0.1" in given[variable]
    # The embedded servers' own start-up lines stay out of the output.
    assert "listening" not in out and "redirecting log output" not in out
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert [p.cmdline() for p in left if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []


def test_without_a_command_it_says_how_and_exits_2():
    done = subprocess.run(
        [sys.executable, "-m", "tonypi_cli", "with-deps"], env=BASE_ENV, capture_output=True, text=True
    )
    assert done.returncode == 2 and "tonypi with-deps -- pytest" in done.stdout
