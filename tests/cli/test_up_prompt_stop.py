"""`tonypi up` stops promptly with live clients connected (issue 18, row 7): SIGTERM with 100
Server-Sent Events streams open on the query service, and `up` has stopped every service,
none killed, within 3 s. Against the brokers and database the tests use, with this test's
names (so it starts no embedded server)."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.query.test_misbehaving_clients import _open_stream
from tests.support.processes import popen_logged

from .conftest import BASE_ENV

STREAMS = 100


async def _until(check, timeout: float, what: str, log) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s; output:\n{log.read_text()[-5000:]}")
        await asyncio.sleep(0.1)


@pytest.mark.slow  # the whole stack under `tonypi up`
@pytest.mark.timeout(180)
async def test_up_stops_within_3_seconds_with_100_live_streams(service_env, tmp_path):
    # A heartbeat far off: a stream that ended only at its next one would hold the stop up.
    env = {**BASE_ENV, **service_env, "SSE_HEARTBEAT": "30"}
    log = tmp_path / "up.log"
    up = popen_logged([sys.executable, "-m", "tonypi_cli", "up", "--robots", "0"], env, log)
    try:
        await _until(lambda: "up: ready" in log.read_text(), 120, "up did not get ready", log)
        token = re.search(r"Token\s+(tpk_\S+)", log.read_text()).group(1)
        auth = f"Authorization: Bearer {token}\r\n".encode()
        streams = await asyncio.gather(*[_open_stream(int(env["QUERY_PORT"]), auth) for _ in range(STREAMS)])
        started = time.monotonic()
        up.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(up.wait, 30)
        stopped_in = time.monotonic() - started
    except BaseException:
        up.kill()  # its children get their stop signal when it dies (PR_SET_PDEATHSIG)
        raise
    finally:
        try:
            up.wait(10)
        except subprocess.TimeoutExpired:
            up.kill()
    text = log.read_text()
    assert code == 0 and "up: stopped\n" in text, text[-3000:]  # not "(some had to be killed)"
    assert stopped_in < 3.0, f"up took {stopped_in:.2f}s to stop with {STREAMS} live streams"
    for reader, writer in streams:
        assert await asyncio.wait_for(reader.read(), 1) is not None  # ended (EOF), not hanging
        writer.close()
