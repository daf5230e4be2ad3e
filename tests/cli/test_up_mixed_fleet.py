"""Issue 17's proof: `tonypi up` with a mixed simulated fleet (one gen-1 client, one gen-2
simulator), against the machine's MQTT, NATS and PostgreSQL under this test's own names,
operated through the API as an operator would. A fleet emergency stop and resume read back
per robot match what each simulated robot did (gen 2: stopped, then resumed; gen 1: its
`stop`, reported as such, never as a confirmed emergency stop; overall `partial`), and a
start_job (to the gen-2 robot, then to the fleet) shows in /jobs linked to its command.
Every wait polls the API against a deadline."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.support.processes import popen_logged

from .conftest import BASE_ENV

pytestmark = pytest.mark.slow  # the whole system as processes

GEN1, GEN2 = "tonypi_sim01", "tonypi_sim02"  # `--robots 2 --gen mixed`: odd ids gen 1, even gen 2
API = "/api/robots-db"
FINAL = {"succeeded", "failed", "partial", "timed_out", "expired"}


class Api:
    def __init__(self, root: str, token: str) -> None:
        self.root, self.token = root, token  # http://host:port; paths are under API

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any, dict[str, str]]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        url = f"{self.root}{path if path.startswith(API) else API + path}"
        try:
            with urlopen(Request(url, data=data, headers=headers, method=method), timeout=15) as resp:
                return resp.status, json.load(resp), dict(resp.headers)
        except HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)

    def get(self, path: str) -> Any:
        status, body, _ = self.call("GET", path)
        return body if status == 200 else None

    def command(self, method: str, path: str, body: dict) -> dict:
        """Ask, then hold (?wait=) until the command reaches an outcome."""
        status, created, headers = self.call(method, path, body)
        assert status in (201, 202), (status, created)
        location = headers["Location"]  # a path: /api/robots-db/commands/{id}
        return until(lambda: _final(self.get(f"{location}?wait=5")), 30, f"{path} outcome")


def _final(command: dict | None) -> dict | None:
    return command if command and command["state"] in FINAL else None


def until(check, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text()[-4000:] if log else ""
    raise AssertionError(f"{what}: not within {timeout}s\n{tail}")


def _up_env(service_env: dict[str, str]) -> dict[str, str]:
    env = {**BASE_ENV, **service_env}
    env.pop("CLOCK_TICK_PERIOD", None)  # the stream's clock runs, as `make run` has it
    return env


@pytest.mark.timeout(150)
def test_a_mixed_fleet_under_up_is_reported_per_robot_as_each_robot_did(service_env, tmp_path):
    env = _up_env(service_env)
    log = tmp_path / "up.log"
    up = popen_logged([sys.executable, "-m", "tonypi_cli", "up", "--robots", "2"], env, log)
    started = time.monotonic()
    try:
        until(lambda: "up: ready" in log.read_text(), 60, "up ready", log)
        token = re.search(r"Token\s+(tpk_\S+)", log.read_text()).group(1)
        api = Api(f"http://127.0.0.1:{env['QUERY_PORT']}", token)

        def known(robot_id: str, firmware: str) -> bool:
            robot = api.get(f"/robots/{robot_id}")
            return bool(robot and robot["online"] and robot["firmware"] == firmware)

        # What each simulated robot's messages reveal: gen 1, and the gen-2 *simulator*.
        until(lambda: known(GEN1, "gen1") and known(GEN2, "gen2_sim"), 30, "robots known", log)
        assert {"start_job", "stop_job", "set_servo"} <= set(api.get(f"/robots/{GEN2}")["command_types"])

        # The fleet emergency stop: gen 2 stops; gen 1 (no emergency-stop topic) gets its `stop`.
        press = api.command("POST", "/emergency-stop", {"reason": "proof drill"})
        assert press["state"] == "partial", press
        assert press["outcomes"][GEN2]["outcome"] == "confirmed", press
        assert press["outcomes"][GEN1] == {"outcome": "stopped", "via": "stop", "message": "stop executed"}
        # ...as the robots themselves then say: the simulator reports itself emergency-stopped,
        # the gen-1 client never does.
        until(lambda: api.get(f"/robots/{GEN2}")["status"] == "emergency_stopped", 15, "gen 2 stopped", log)
        assert api.get(f"/robots/{GEN1}")["status"] == "online"
        lines = [line["message"] for line in api.get("/logs?category=command&limit=100")]
        assert f"Command {press['command_id']} succeeded on {GEN1}: stop executed" in lines
        assert not [m for m in lines if press["command_id"] in m and "Emergency stop" in m and GEN1 in m]

        # The fleet resume: gen 2 released; gen 1 had nothing latched and was sent nothing.
        resume = api.command("POST", "/resume", {})
        assert resume["state"] == "partial", resume
        assert resume["outcomes"][GEN2]["outcome"] == "confirmed"
        assert resume["outcomes"][GEN1] == {"outcome": "unsupported"}
        until(lambda: api.get(f"/robots/{GEN2}")["status"] == "online", 15, "gen 2 resumed", log)

        # A job dispatched to the simulator: it starts it, and /jobs links it to the command.
        job_of = {"task_name": "Proof pick", "items_total": 3}
        start = api.command("POST", f"/robots/{GEN2}/commands", {"type": "start_job", "params": job_of})
        assert start["state"] == "succeeded", start

        def job_linked(task: str, command_id: str):
            jobs = api.get(f"/jobs/history?robot_id={GEN2}&limit=50") or []
            return [j for j in jobs if j["task_name"] == task and j["command_id"] == command_id]

        [job] = until(lambda: job_linked("Proof pick", start["command_id"]), 15, "job linked", log)
        assert job["items_total"] == 3
        # The same through the fleet: gen 1 cannot take it (unsupported), the simulator's job is linked.
        sweep = {"task_name": "Fleet sweep", "items_total": 2}
        fleet = api.command("POST", "/commands", {"type": "start_job", "params": sweep})
        assert fleet["state"] == "partial", fleet
        assert fleet["outcomes"][GEN1] == {"outcome": "unsupported"}
        assert fleet["outcomes"][GEN2]["outcome"] == "confirmed"
        until(lambda: job_linked("Fleet sweep", fleet["command_id"]), 15, "fleet job linked", log)
        # A type the gen-1 robot would answer "Unknown command": the API says so up front.
        status, refused, _ = api.call(
            "POST", f"/robots/{GEN1}/commands", {"type": "start_job", "params": sweep}
        )
        assert status == 422 and refused["detail"][0]["type"] == "unsupported_command"
        assert time.monotonic() - started < 90, "the proof should stay well under a minute and a half"
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            code = up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
            raise
    assert code == 0, log.read_text()[-3000:]
