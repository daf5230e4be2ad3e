"""How one simulated robot behaves over time: what it publishes when, and the state
behind it (charge, position, current job). No I/O: `tick(t)` returns the messages due
at simulated-clock time `t`, so the cadence is testable without a broker.

The real cadence (MQTT.md) is the schedule below; `speed` > 1 compresses it to make load.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from . import fleet

# (what, period in seconds at real cadence). Scans come at random around their period;
# a found item moves the robot's job on, which it reports as job progress.
CADENCE: tuple[tuple[str, float], ...] = (
    ("status", 60.0),
    ("sensors", 2.0),
    ("battery", 30.0),
    ("location", 5.0),
    ("scan", 12.0),
    ("servos", 10.0),  # gen 2 only
    ("vision", 6.0),  # gen 2 only
)
GEN2_ONLY = frozenset({"servos", "vision"})
ITEMS_PER_JOB = 10


def messages_per_second(generation: int) -> float:
    """Average messages a robot sends per second at real cadence (scans also bring job progress)."""
    per_kind = {"sensors": len(fleet.sensor_types(generation)), "scan": 2}
    return sum(
        per_kind.get(kind, 1) / period for kind, period in CADENCE if generation == 2 or kind not in GEN2_ONLY
    )


@dataclass
class RobotBehaviour:
    robot: fleet.Robot
    rng: random.Random
    speed: float = 1.0  # 1 = real cadence
    clock: Callable[[], datetime] = datetime.now  # the robot's wall clock, naive like the firmware's
    battery_percent: float = field(default=0.0)
    x: float = 0.0
    y: float = 0.0
    heading: float = 0.0
    items_done: int = 0
    job_active: bool = False
    job_started_at: float = 0.0
    emergency_stopped: bool = False  # gen 2, in memory only: a restarted robot forgets it
    emergency_reason: str | None = None
    _next_due: dict[str, float] = field(default_factory=dict)
    _started_at: float = 0.0

    def start(self, t: float) -> list[fleet.Message]:
        """Connected at `t`: announce online; spread first messages so robots don't burst in lockstep."""
        self._started_at = t
        self.battery_percent = self.battery_percent or self.rng.uniform(55, 100)
        for kind, period in self._schedule():
            self._next_due[kind] = t + self.rng.uniform(0, period) / self.speed
        self._next_due["status"] = t + 60.0 / self.speed
        return [self._status(t, "online")]

    def next_due(self) -> float:
        return min(self._next_due.values())

    def tick(self, t: float) -> list[fleet.Message]:
        out: list[fleet.Message] = []
        for kind, period in self._schedule():
            if self._next_due[kind] <= t:
                out += self._emit(kind, t)
                jitter = self.rng.uniform(0.5, 1.5) if kind == "scan" else 1.0
                self._next_due[kind] = max(self._next_due[kind] + period * jitter / self.speed, t)
        return out

    def stop(self, t: float) -> list[fleet.Message]:
        return [self._status(t, "offline")]

    def answer_command(self, command: dict) -> list[fleet.Message]:
        """What the firmware does with an operator command on tonypi/commands/...: obey it (or
        refuse it) and answer on tonypi/commands/response with its id."""
        kind, command_id = command.get("type"), str(command.get("id", ""))
        now = self.clock()
        if kind not in fleet.command_types(self.robot.generation):
            return [
                fleet.command_response(self.robot, now, command_id, success=False, message="Unknown command")
            ]
        if self.emergency_stopped and kind not in fleet.ALLOWED_WHILE_STOPPED:
            return [
                fleet.command_response(
                    self.robot,
                    now,
                    command_id,
                    success=False,
                    message=f"Emergency stop active: {kind} refused",
                )
            ]
        data = None
        if kind == "battery_request":
            data = {"percentage": round(self.battery_percent, 1)}
        elif kind == "status_request":
            data = {
                "status": self._state(),
                "battery": round(self.battery_percent, 1),
                "x": self.x,
                "y": self.y,
            }
        elif kind == "move":
            self.x += 0.1
        out = [fleet.command_response(self.robot, now, command_id, message=f"{kind} executed", data=data)]
        if kind == "resume":
            was, self.emergency_stopped = self.emergency_stopped, False
            if was:
                out.append(self._status_now("online"))
        return out

    def emergency_stop(self, command: dict) -> list[fleet.Message]:
        """tonypi/emergency_stop/... (gen 2): stop, remember it (in memory only), answer on both topics."""
        command_id = str(command.get("id", ""))
        self.emergency_stopped = True
        self.emergency_reason = str(command.get("reason") or "operator")
        now = self.clock()
        return [
            fleet.emergency_stop_response(self.robot, now, command_id),
            fleet.command_response(self.robot, now, command_id, message="Emergency stop activated"),
            self._status_now("emergency_stopped"),
        ]

    # ---- internals --------------------------------------------------------------------

    def _schedule(self):
        return [(k, p) for k, p in CADENCE if self.robot.generation == 2 or k not in GEN2_ONLY]

    def _state(self) -> str:
        return "emergency_stopped" if self.emergency_stopped else "online"

    def _status_now(self, state: str) -> fleet.Message:
        return self._status(self._started_at, state)

    def _status(self, t: float, state: str) -> fleet.Message:
        return fleet.status(
            self.robot, self.clock(), self.rng, state=state, uptime_s=(t - self._started_at) * self.speed
        )

    def _emit(self, kind: str, t: float) -> list[fleet.Message]:
        now, robot, rng = self.clock(), self.robot, self.rng
        if kind == "status":
            return [self._status(t, self._state())]
        if kind == "sensors":
            return fleet.sensor_burst(robot, now, rng)
        if kind == "battery":
            self.battery_percent = max(5.0, self.battery_percent - rng.uniform(0.05, 0.4))
            return [fleet.battery(robot, now, rng, percentage=self.battery_percent)]
        if kind == "location":
            self.heading = (self.heading + rng.uniform(-30, 30)) % 360
            self.x += 0.3 * math.cos(math.radians(self.heading))
            self.y += 0.3 * math.sin(math.radians(self.heading))
            return [fleet.location(robot, now, x=self.x, y=self.y, heading=self.heading)]
        if kind == "scan":
            return self._scan(t, now)
        if kind == "servos":
            return [fleet.servos(robot, now, rng)]
        if kind == "vision":
            return [fleet.vision(robot, now, rng)]
        raise ValueError(f"unknown cadence entry {kind!r}")

    def _scan(self, t: float, now: datetime) -> list[fleet.Message]:
        """Scan a code; a known item counts towards the job, like the firmware does
        after the server's found reply. One scan in eight is an unknown code.
        A gen 2 robot announces its job ("started") before the job's first scan: the
        server would otherwise start one from the scan and end it at the "started"."""
        out: list[fleet.Message] = []
        if not self.job_active:
            self.job_active, self.items_done, self.job_started_at = True, 0, t
            if self.robot.generation == 2:
                out.append(
                    fleet.job_progress(self.robot, now, items_done=0, items_total=ITEMS_PER_JOB, started=True)
                )
                out.append(fleet.log_line(self.robot, now, "job started: Transport"))
        known = self.rng.random() >= 0.125
        qr = self.rng.choice(fleet.DEMO_ITEMS) if known else fleet.UNKNOWN_ITEM
        out.append(fleet.scan(self.robot, now, qr, station_name=f"Station {self.rng.choice('ABC')}"))
        if not known:
            return out
        self.items_done += 1
        out.append(
            fleet.job_progress(
                self.robot,
                now,
                items_done=self.items_done,
                items_total=ITEMS_PER_JOB,
                elapsed_s=(t - self.job_started_at) * self.speed,
            )
        )
        if self.items_done >= ITEMS_PER_JOB:
            self.job_active = False
            if self.robot.generation == 2:
                out.append(fleet.log_line(self.robot, now, "job completed: Transport"))
        return out
