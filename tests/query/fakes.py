"""In-memory read and write sides for the query app: the fast tier tests the HTTP layer
(validation, error mapping, status codes, headers) through `init_app` with these, no
PostgreSQL or NATS. What they return is what the real ones return for the same state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tonypi_events import read_tables
from tonypi_query.errors import AlreadyExists, NotFound, Unavailable
from tonypi_query.models import RobotCreate, RobotUpdate
from tonypi_query.writes import WriteResult
from tonypi_runtime.tokens import new_api_token, token_digest

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


# The columns a robot row holds as Reads returns it (ROBOT_COLUMNS: the served ones).
ROBOT_COLUMNS = tuple(c.served_name for c in read_tables.ROBOTS.served_columns if c.name != "telemetry")


def robot_row(robot_id: str, **fields: Any) -> dict[str, Any]:
    row = dict.fromkeys(ROBOT_COLUMNS) | {
        "id": 1,
        "robot_id": robot_id,
        "battery_threshold_low": 20.0,
        "battery_threshold_critical": 10.0,
        "temp_threshold_warning": 70.0,
        "temp_threshold_critical": 85.0,
        "settings": {},
        "created_at": NOW,
        "updated_at": NOW,
        "is_active": True,
        "online": False,
    }
    unknown = fields.keys() - row.keys() - {"telemetry"}
    if unknown:
        raise TypeError(f"robots has no served column {', '.join(sorted(unknown))}")
    return {**row, **fields}


@dataclass
class FakeReads:
    robots: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_with: BaseException | None = None  # every read raises this, as a broken database would
    calls: list[str] = field(default_factory=list)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # digest -> (name, role)

    def grant(self, name: str, role: str) -> str:
        """A token of this name and role, as api_tokens would hold it; returns the token."""
        token = new_api_token()
        self.tokens[token_digest(token)] = (name, role)
        return token

    async def api_token(self, digest: str):
        # Not a recorded read, and never failing: the token check is tests/query/test_auth*.py's
        # subject; these fakes test what comes after it.
        found = self.tokens.get(digest)
        return (*found, digest) if found is not None else None

    def _read(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_with is not None:
            raise self.fail_with

    async def robot(self, robot_id: str):
        self._read("robot")
        return self.robots.get(robot_id)

    async def active_robots(self):
        self._read("active_robots")
        return [r for r in self.robots.values() if r["is_active"]]

    async def robot_page(self, query, after):
        self._read("robot_page")
        rows = sorted((r for r in self.robots.values() if r["is_active"]), key=lambda r: r["robot_id"])
        return [r for r in rows if after is None or r["robot_id"] > after][: query.limit]

    async def robot_exists(self, robot_id: str) -> bool:
        self._read("robot_exists")
        return robot_id in self.robots

    async def telemetry(self, robot_id: str):
        self._read("telemetry")
        row = self.robots.get(robot_id)
        if row is None:
            return None
        return {**row, "telemetry": row.get("telemetry")}

    async def job(self, job_id: int):
        self._read("job")
        return None

    async def logs(self, query, cursor, hidden_categories=()):
        self._read("logs")
        return []

    async def jobs(self, query, cursor):
        self._read("jobs")
        return []

    async def stats(self):
        self._read("stats")
        active = [r for r in self.robots.values() if r["is_active"]]
        return {
            "total_robots": len(active),
            "online_robots": sum(r["online"] for r in active),
            "total_jobs": 0,
            "active_jobs": 0,
            "completed_jobs_today": 0,
        }

    async def counters(self):
        self._read("counters")
        return {}

    async def fleet_counts(self):
        self._read("fleet_counts")
        return {"total": len(self.robots), "online": 0}

    async def checkpoint(self) -> int:
        return 0

    async def ping(self) -> None:
        self._read("ping")


@dataclass
class FakeWrites:
    """Records what it was asked; `applied` False answers as a projector behind the wait."""

    reads: FakeReads
    connected: bool = True
    applied: bool = True
    recorded: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return "ok" if self.connected else "disconnected (writes answer 503)"

    def _append(self, kind: str, robot_id: str, change: dict[str, Any]) -> WriteResult:

        if not self.connected:
            raise Unavailable("The event stream is not connected yet; nothing was recorded, retry later")
        self.recorded.append((kind, robot_id, change))
        if self.applied:
            row = self.reads.robots.setdefault(robot_id, robot_row(robot_id))
            row.update(change)
        return WriteResult(sequence=len(self.recorded), applied=self.applied)

    async def register(self, robot: RobotCreate, actor: dict[str, Any]) -> WriteResult:

        if robot.robot_id in self.reads.robots:
            raise AlreadyExists("Robot already exists")
        return self._append("registered", robot.robot_id, robot.model_dump(exclude_none=True))

    async def update(self, robot_id: str, update: RobotUpdate, actor: dict[str, Any]) -> WriteResult:

        if robot_id not in self.reads.robots:
            raise NotFound("Robot not found")
        return self._append("updated", robot_id, update.model_dump(exclude_none=True))

    async def deactivate(self, robot_id: str, actor: dict[str, Any]) -> WriteResult:

        if robot_id not in self.reads.robots:
            raise NotFound("Robot not found")
        return self._append("deactivated", robot_id, {"is_active": False})
