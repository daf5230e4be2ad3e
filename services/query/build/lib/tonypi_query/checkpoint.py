"""Waiting for the projector: has the read model applied stream sequence N yet?

The projector runs `pg_notify('tonypi_checkpoint', '<last_seq>')` in each batch
transaction, so the notification arrives when the rows are committed. A dedicated
connection LISTENs; should it be down or a notification be missed, waiters poll the
checkpoint row instead, so a write never waits on a lost message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from tonypi_runtime.postgres import CHECKPOINT_CHANNEL
from tonypi_runtime.retry import retry_forever

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]
ReadCheckpoint = Callable[[], Awaitable[int]]


class CheckpointWatcher:
    def __init__(
        self, read_checkpoint: ReadCheckpoint, connect: Connect, poll_interval: float = 0.25
    ) -> None:
        self._read_checkpoint = read_checkpoint
        self._connect = connect
        self._poll_interval = poll_interval
        self._latest = 0
        self._advanced = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def latest(self) -> int:
        return self._latest

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="checkpoint-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def read(self) -> int:
        self._advance(await self._read_checkpoint())
        return self._latest

    async def wait_for(self, sequence: int, timeout: float) -> bool:
        """True once the checkpoint reaches `sequence`; False if `timeout` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            advanced = self._advanced
            if self._latest >= sequence or await self.read() >= sequence:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):  # poll the row: the listener may be reconnecting
                await asyncio.wait_for(advanced.wait(), min(remaining, self._poll_interval))

    def _advance(self, value: int) -> None:
        if value > self._latest:
            self._latest = value
            # Wake every current waiter; later ones wait on a fresh event.
            self._advanced.set()
            self._advanced = asyncio.Event()

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        try:
            self._advance(int(payload))
        except ValueError:
            log.warning("ignoring %s notification with payload %r", CHECKPOINT_CHANNEL, payload[:40])

    async def _listen_forever(self) -> None:
        while True:
            conn = await retry_forever(
                self._connect,
                "PostgreSQL (LISTEN connection)",
                log,
                retry_on=(OSError, asyncio.TimeoutError, asyncpg.PostgresError),
            )
            lost = asyncio.Event()
            # Bound now: a late signal from a closed connection must not cut the next one short.
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            try:
                await conn.add_listener(CHECKPOINT_CHANNEL, self._on_notify)
                await lost.wait()
                log.warning("LISTEN connection lost; polling the checkpoint until it is back")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("LISTEN %s failed (%s); reconnecting", CHECKPOINT_CHANNEL, exc)
            finally:
                if not conn.is_closed():
                    await conn.close(timeout=2)
