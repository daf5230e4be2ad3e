"""The live feed's fixtures: the real projector, the query app in-process (one or two
replicas), robot events appended straight to the stream, and a small SSE reader."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest

from tests.commands.conftest import fleet_api, projector, query_env, stack_env  # noqa: F401 (fixtures)
from tests.query.conftest import _serve

__all__ = ["SseReader"]


@pytest.fixture
def live_env(stack_env):
    return {**stack_env, "SSE_CLIENT_BUFFER": "50", "SSE_HEARTBEAT": "0.3"}


@pytest.fixture
async def api(live_env, projector):
    client = await _serve(live_env)
    yield client
    await client.close()


@dataclass
class Record:
    id: int
    event: str
    data: dict


class SseReader:
    """Reads an SSE response line by line: records (id, event, data) and heartbeat comments."""

    def __init__(self, response) -> None:
        self.response = response
        self.heartbeats = 0
        self.other: list[str] = []

    async def next(self, timeout: float = 20.0) -> Record:
        fields: dict[str, str] = {}
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not line:
                raise EOFError("stream ended")
            text = line.decode().rstrip("\n")
            if text == "":
                if "data" in fields and "id" in fields:
                    return Record(
                        int(fields["id"]), fields.get("event", "message"), json.loads(fields["data"])
                    )
                if "event" in fields:
                    self.other.append(fields["event"])
                fields = {}
                continue
            if text.startswith(":"):
                self.heartbeats += 1
                continue
            key, _, value = text.partition(": ")
            fields[key] = value

    async def heartbeat(self, timeout: float = 20.0) -> None:
        """Read the next line of an idle stream, which must be a heartbeat comment, within
        `timeout` (heartbeats are counted as they are read, not as the server sends them)."""
        text = ""
        while text == "":  # the blank line that ends the record or comment before it
            line = await asyncio.wait_for(self.response.content.readline(), timeout)
            if not line:
                raise EOFError("stream ended")
            text = line.decode().rstrip("\n")
        assert text.startswith(":"), f"an idle stream sent {text!r}, not a heartbeat"
        self.heartbeats += 1

    async def take(self, count: int, timeout: float = 20.0) -> list[Record]:
        return [await self.next(timeout) for _ in range(count)]
