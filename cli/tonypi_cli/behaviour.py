"""How one simulated robot behaves over time: what it publishes when, and the state
behind it (charge, position, item counter, gen 2's current job). No I/O: `tick(t)`
returns the messages due at simulated-clock time `t`, and `answer_item(reply)` what the
robot sends back when the server answers a scan, so the behaviour is testable without a
broker.

It does what the robots' unchanged client does (docs/contract/MQTT.md, "What the robots'
client really does"): the cadence below; after every item reply an echo on
tonypi/commands/response (no command id) and, if the item was found, its item counter as
job progress (the counter never resets); gen 2 also runs its own jobs, reported every
3 s, and after a job ended re-sends that job's ending every 3 s until the next starts.
`speed` > 1 compresses time to make load.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from . import fleet
from .job_commands import job_command

# (what, period in seconds at real cadence), per firmware generation. Scans come at
# random around their period; the server's reply to each brings an echo and, for a found
# item, the counter's job progress (`answer_item`).
CADENCE: dict[int, tuple[tuple[str, float], ...]] = {
    1: (
        ("status", 60.0),
        ("sensors", 2.0),
        ("battery", 30.0),
        ("location", 5.0),
        ("scan", 12.0),
    ),
    2: (
        ("status", 10.0),
        ("sensors", 2.0),
        ("battery", 30.0),
        ("location", 5.0),
        ("scan", 12.0),
        ("servos", 3.0),
        ("vision", 6.0),
        ("logs", 30.0),
        ("job", 3.0),
    ),
}
ITEMS_PER_JOB = 10  # the client's item counter's total, and gen 2's jobs' size
GEN2_TASK = "Transport"
GEN2_ITEM_SECONDS = (6.0, 18.0)  # a gen-2 job moves on one item in this many seconds
GEN2_IDLE_SECONDS = (20.0, 60.0)  # between one gen-2 job's end and the next one's start
GEN2_CANCEL_CHANCE = 0.03  # per item: the job is cancelled instead
KNOWN_SHARE = 0.875  # one scan in eight reads a code the catalogue lacks


def messages_per_second(generation: int) -> float:
    """Average messages a robot sends per second at real cadence: a scan brings an echo and,
    for a found item, the counter's progress."""
    per_kind = {"sensors": len(fleet.sensor_types(generation)), "scan": 2 + KNOWN_SHARE}
    return sum(per_kind.get(kind, 1) / period for kind, period in CADENCE[generation])


@dataclass
class Gen2Job:
    """A job the gen-2 client runs on its own; its reports are what the server sees."""

    start_time: str  # the robot's clock, as it reports it: the job's identity
    started_t: float
    items_total: int = ITEMS_PER_JOB
    task_name: str = GEN2_TASK
    items_done: int = 0
    status: str = "working"  # then completed or cancelled
    next_item_t: float = 0.0
    next_start_t: float = 0.0  # once ended: when the next job starts
    history: list[fleet.Payload] = field(default_factory=list)


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
    item_counter: int = 0  # the client's found-item counter: never resets
    job: Gen2Job | None = None  # gen 2's current (or last ended) job
    jobs_started: int = 0  # jobs this robot began: what the server's jobs table should show
    emergency_stopped: bool = False  # gen 2, in memory only: a restarted robot forgets it
    emergency_reason: str | None = None
    servo_positions: dict[int, float] = field(default_factory=dict)  # set_servo's, by servo id
    _next_due: dict[str, float] = field(default_factory=dict)
    _started_at: float = 0.0
    _t: float = 0.0  # the simulated clock at the last start or tick
    _scanned: bool = False

    def start(self, t: float) -> list[fleet.Message]:
        """Connected at `t`: announce online (gen 2 also starts its first job unless one is
        running); spread first messages so robots don't burst in lockstep."""
        self._started_at = self._t = t
        self.battery_percent = self.battery_percent or self.rng.uniform(55, 100)
        for kind, period in self._schedule():
            self._next_due[kind] = t + self.rng.uniform(0, period) / self.speed
        self._next_due["status"] = t + self._period("status")
        out = [self._status(t, "online")]
        if self.robot.generation == 2 and self.job is None:
            out.append(self._start_job(t))
        return out

    def next_due(self) -> float:
        return min(self._next_due.values())

    def tick(self, t: float) -> list[fleet.Message]:
        self._t = t
        out: list[fleet.Message] = []
        for kind, period in self._schedule():
            if self._next_due[kind] <= t:
                out += self._emit(kind, t)
                jitter = self.rng.uniform(0.5, 1.5) if kind == "scan" else 1.0
                self._next_due[kind] = max(self._next_due[kind] + period * jitter / self.speed, t)
        return out

    def stop(self, t: float) -> list[fleet.Message]:
        return [self._status(t, "offline")]

    def answer_item(self, reply: fleet.Payload) -> list[fleet.Message]:
        """What the client sends after the server's reply to a scan: the echo, then, for a
        found item, its item counter as job progress."""
        now = self.clock()
        out = [fleet.item_echo(self.robot, now, reply)]
        if reply.get("found") is True:
            self.item_counter += 1
            out.append(fleet.item_counter_progress(self.robot, now, items_done=self.item_counter))
        return out

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
        elif kind in fleet.GEN2_JOB_COMMANDS:
            return job_command(self, command, now)
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
        return CADENCE[self.robot.generation]

    def _period(self, kind: str) -> float:
        return dict(self._schedule())[kind] / self.speed

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
            return [self._scan(now)]
        if kind == "servos":
            return [fleet.servos(robot, now, rng)]
        if kind == "vision":
            return [fleet.vision(robot, now, rng)]
        if kind == "logs":
            return [fleet.log_line(robot, now, f"battery {self.battery_percent:.1f}%, {self._job_words()}")]
        if kind == "job":
            return self._job_tick(t)
        raise ValueError(f"unknown cadence entry {kind!r}")

    def _scan(self, now: datetime) -> fleet.Message:
        """A code read at a station. A gen-1 robot's first scan begins the one job its
        never-resetting counter counts (the server starts it from the scan)."""
        if not self._scanned and self.robot.generation == 1:
            self.jobs_started += 1
        self._scanned = True
        known = self.rng.random() < KNOWN_SHARE
        qr = self.rng.choice(fleet.DEMO_ITEMS) if known else fleet.UNKNOWN_ITEM
        return fleet.scan(self.robot, now, qr, station_name=f"Station {self.rng.choice('ABC')}")

    # ---- gen 2's own jobs ---------------------------------------------------------------

    def _start_job(
        self, t: float, task_name: str = GEN2_TASK, items_total: int = ITEMS_PER_JOB
    ) -> fleet.Message:
        now = self.clock()
        self.job = Gen2Job(
            start_time=now.replace(tzinfo=None).isoformat(),
            started_t=t,
            items_total=items_total,
            task_name=task_name,
            next_item_t=t + self.rng.uniform(*GEN2_ITEM_SECONDS) / self.speed,
        )
        self.jobs_started += 1
        return fleet.gen2_job_started(
            self.robot, now, task_name=task_name, start_time=self.job.start_time, items_total=items_total
        )

    def _job_tick(self, t: float) -> list[fleet.Message]:
        job = self.job
        if job is None or (job.status != "working" and t >= job.next_start_t):
            return [self._start_job(t)]
        now = self.clock()
        if job.status == "working" and t >= job.next_item_t:
            if self.rng.random() < GEN2_CANCEL_CHANCE:
                self._end_job(job, t, "cancelled")
            else:
                job.items_done += 1
                item_id = f"ITEM_{self.rng.randint(1, 9999):04d}"
                job.history = [
                    *job.history[-4:],
                    {
                        "item_id": item_id,
                        "barcode": item_id,
                        "status": "picked",
                        "timestamp": now.isoformat(),
                    },
                ]
                job.next_item_t = t + self.rng.uniform(*GEN2_ITEM_SECONDS) / self.speed
                if job.items_done >= job.items_total:
                    self._end_job(job, t, "completed")
        return [
            fleet.gen2_job_report(
                self.robot,
                now,
                status=job.status,
                start_time=job.start_time,
                items_done=job.items_done,
                items_total=job.items_total,
                elapsed_s=(t - job.started_t) * self.speed,
                estimated_s=job.items_total * sum(GEN2_ITEM_SECONDS) / 2,
                history=job.history,
            )
        ]

    def _end_job(self, job: Gen2Job, t: float, status: str) -> None:
        job.status = status
        job.next_start_t = t + self.rng.uniform(*GEN2_IDLE_SECONDS) / self.speed

    def _job_words(self) -> str:
        if self.job is None:
            return "no job"
        return f"job {self.job.status} ({self.job.items_done}/{self.job.items_total})"
