"""Running a set of child processes in the foreground, as data.

Each child is a `ProcessSpec`. Children start in groups; each child's output is
printed line by line behind its name; a group is stopped only after every group
started after it (services before the brokers they use). A child that exits on its
own ends the whole run. Children get their own session so a terminal's Ctrl-C
reaches only the supervisor, which then stops them in order; on Linux they also get
their stop signal should the supervisor itself die.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

# (ready, what is still missing)
ReadyCheck = Callable[[], Awaitable[tuple[bool, str]]]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    ready: ReadyCheck | None = None
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 15.0
    user: str | None = None  # run as this user (only when we are root)
    cwd: str | None = None
    # Output to this file instead of the terminal: a server's own start-up lines would
    # otherwise come before the summary `tonypi up` prints (embedded servers use it).
    log_file: str | None = None


@dataclass
class Child:
    spec: ProcessSpec
    process: asyncio.subprocess.Process
    pump: asyncio.Task = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid


class ChildExited(Exception):
    def __init__(self, child: Child) -> None:
        where = f" (its output: {child.spec.log_file})" if child.spec.log_file else ""
        super().__init__(f"{child.spec.name} exited with code {child.process.returncode}{where}")
        self.child = child


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    """A preexec hook asking Linux to send the child `sig` when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def set_parent_death_signal() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return set_parent_death_signal


class Supervisor:
    def __init__(self, out: TextIO = sys.stdout, name_width: int = 10) -> None:
        self.out, self.name_width = out, name_width
        self.groups: list[list[Child]] = []

    @property
    def children(self) -> list[Child]:
        return [child for group in self.groups for child in group]

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    async def start_group(self, specs: list[ProcessSpec]) -> list[Child]:
        group: list[Child] = []
        self.groups.append(group)
        for spec in specs:
            with contextlib.ExitStack() as files:
                output = (
                    files.enter_context(open(spec.log_file, "ab"))  # the child keeps its copy
                    if spec.log_file
                    else asyncio.subprocess.PIPE
                )
                process = await asyncio.create_subprocess_exec(
                    *spec.argv,
                    env=dict(spec.env),
                    cwd=spec.cwd,
                    user=spec.user,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=output,
                    stderr=asyncio.subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(spec.stop_signal),
                    limit=1 << 20,
                )
            group.append(Child(spec, process, asyncio.create_task(self._pump(spec.name, process))))
        return group

    async def _pump(self, name: str, process: asyncio.subprocess.Process) -> None:
        label = f"{name:<{self.name_width}}| "
        if process.stdout is None:  # its output goes to its log file
            return
        async for raw in process.stdout:
            self.say(label + raw.decode(errors="replace").rstrip("\n"))

    async def wait_ready(
        self, children: list[Child], timeout: float, stop: asyncio.Event | None = None
    ) -> None:
        """Until every child's ready check passes, or `stop` is set.
        Raises ChildExited or TimeoutError."""
        pending = [c for c in children if c.spec.ready is not None]
        missing: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while pending and not (stop and stop.is_set()):
            self._raise_if_any_exited()
            still = []
            for child in pending:
                assert child.spec.ready is not None
                ok, why = await child.spec.ready()
                if not ok:
                    still.append(child)
                    missing[child.spec.name] = why
            pending = still
            if pending and time.monotonic() > deadline:
                reasons = "; ".join(f"{c.spec.name}: {missing[c.spec.name]}" for c in pending)
                raise TimeoutError(f"not ready after {timeout:.0f}s: {reasons}")
            if pending:
                await asyncio.sleep(0.2)

    def _raise_if_any_exited(self) -> None:
        for child in self.children:
            if child.process.returncode is not None:
                raise ChildExited(child)

    async def wait_for_exit_or(self, stop: asyncio.Event) -> Child | None:
        """Until `stop` is set (None) or a child exits on its own (that child)."""
        waits = {asyncio.ensure_future(c.process.wait()): c for c in self.children}
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopping, *waits], return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, *waits):
            task.cancel()
        exited = [waits[t] for t in done if t in waits]
        return exited[0] if exited else None

    async def stop_all(self) -> bool:
        """Stop every child, the last group first. True when all stopped within their timeout."""
        clean = True
        for group in reversed(self.groups):
            results = await asyncio.gather(*(self._stop(child) for child in group))
            clean = clean and all(results)
        return clean

    async def _stop(self, child: Child) -> bool:
        process, spec = child.process, child.spec
        clean = True
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(spec.stop_signal)
            try:
                await asyncio.wait_for(process.wait(), spec.stop_timeout)
            except TimeoutError:
                self.say(f"{spec.name}: did not stop within {spec.stop_timeout:g}s; killing it")
                process.kill()
                await process.wait()
                clean = False
        await child.pump
        return clean
