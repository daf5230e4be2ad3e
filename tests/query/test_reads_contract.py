"""The read contract (reads_contract.py) run against the fake and against PostgreSQL; the
same rows compared column by column across the two; and the fakes' public methods held to
the real ones', signature by signature."""

from __future__ import annotations

import dataclasses
import inspect
from types import FunctionType
from typing import Any

import pytest
from tonypi_query.alarm_models import AlarmsQuery
from tonypi_query.models import JobsQuery, LogsQuery, RobotsQuery
from tonypi_query.reads import Reads
from tonypi_query.writes import RobotWrites

from .fake_writes import FakeWrites
from .fakes import FakeReads, robot_row
from .reads_contract import ACTOR, T0, FakeBackend, ReadsContract, alarm, at, command, migrated

# What the real ones have that the HTTP layer never calls: bootstrap wires them.
WIRING = {Reads: {"attach", "pool", "close_probe"}, RobotWrites: {"attach"}}


class TestFakeReads(ReadsContract):
    @pytest.fixture
    def backend(self):
        return FakeBackend()


class TestPostgresReads(ReadsContract):
    @pytest.fixture
    async def backend(self, database_url):
        async with migrated(database_url) as postgres:
            yield postgres


async def _seed(backend) -> None:
    await backend.insert(
        "robots", **robot_row("r1", id=1, name="One", status="online", last_seen=T0, online=True)
    )
    await backend.insert("robots", **robot_row("r2", id=2, is_active=False, settings={"k": [1]}))
    await backend.insert("alarms", **alarm(10, "r1", "battery", minutes=1, value=9.5, threshold=10.0))
    await backend.insert(
        "alarms", **alarm(11, "r1", "servo", minutes=0, state="cleared", details={"servo": 3})
    )
    await backend.insert(
        "alarm_transitions", id=12, alarm_id=10, robot_id="r1", kind="battery", action="raised",
        severity="warning", at=at(1), event_seq=5, value=9.5, actor=ACTOR, message="low",
    )  # fmt: skip
    await backend.insert("commands", **command("c1", "r1", 1, response={"ok": True}, outcomes={"r1": {}}))
    await backend.insert(
        "emergency_stops",
        robot_id="r1",
        engaged=True,
        command_id="e1",
        reason="x",
        actor=ACTOR,
        changed_at=T0,
        seq=2,
    )
    await backend.insert(
        "jobs", id=3, robot_id="r1", start_time=at(2), items_total=4, task_name="t", created_at=at(2)
    )
    await backend.insert(
        "system_logs",
        id=4,
        level="INFO",
        category="robot",
        message="m",
        robot_id="r1",
        details={"a": 1},
        timestamp=T0,
    )


READS = {
    "robot": lambda r: r.robot("r1"),
    "inactive robot": lambda r: r.robot("r2"),
    "active_robots": lambda r: r.active_robots(),
    "robot_page": lambda r: r.robot_page(RobotsQuery(), None),
    "telemetry": lambda r: r.telemetry("r2"),
    "job": lambda r: r.job(3),
    "jobs": lambda r: r.jobs(JobsQuery(), None),
    "logs": lambda r: r.logs(LogsQuery(), None),
    "alarms": lambda r: r.alarms(AlarmsQuery(), None),
    "alarm": lambda r: r.alarm(11),
    "transitions": lambda r: r.transitions(10),
    "command": lambda r: r.command("c1"),
    "commands": lambda r: r.commands("r1", 5, None),
    "latch": lambda r: r.latch("r1"),
    "latches": lambda r: r.latches(),
}


def _plain(answer: Any) -> Any:
    if isinstance(answer, list):
        return [_plain(row) for row in answer]
    return dict(answer) if answer is not None else None


async def test_the_same_rows_read_back_alike_from_the_fake_and_postgresql(database_url):
    """Every column of every row, not only what the contract's cases look at."""
    fake = FakeBackend()
    async with migrated(database_url) as postgres:
        for backend in (fake, postgres):
            await _seed(backend)
        for name, read in READS.items():
            assert _plain(await read(fake.reads)) == _plain(await read(postgres.reads)), name


def _public(cls: type, kind: type) -> dict[str, Any]:
    """The public functions (kind: FunctionType) or properties of `cls` and its bases."""
    members = {}
    for klass in reversed(cls.__mro__[:-1]):  # object's own are nobody's contract
        for name, value in vars(klass).items():
            if not name.startswith("_") and isinstance(value, kind):
                members[name] = value
    return members


def _shape(function: Any) -> tuple:
    """What a caller relies on: async or not, generator or not, the parameters' names,
    kinds and defaults (annotations are the real one's to state)."""
    parameters = [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]
    return (inspect.iscoroutinefunction(function), inspect.isasyncgenfunction(function), parameters)


@pytest.mark.parametrize(("fake", "real"), [(FakeReads, Reads), (FakeWrites, RobotWrites)])
def test_the_fake_has_exactly_the_public_methods_of_the_real_one(fake, real):
    real_methods = {n: _shape(f) for n, f in _public(real, FunctionType).items() if n not in WIRING[real]}
    assert {n: _shape(f) for n, f in _public(fake, FunctionType).items()} == real_methods
    fake_attributes = _public(fake, property).keys() | {f.name for f in dataclasses.fields(fake)}
    assert _public(real, property).keys() - WIRING[real] <= fake_attributes
