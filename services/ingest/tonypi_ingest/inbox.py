"""Reading the MQTT socket ahead of handling what it brought (issue 23).

Mosquitto 2.0 caps the packets it has queued for one connection and not yet written to
its socket at `max_queued_messages` (1000 in the stock configuration) and drops what goes
beyond, QoS 1 publishes inside the client's Receive Maximum included ("Outgoing messages
are being dropped for client ..."). So the window does not protect a subscriber that reads
its socket slower than the broker sends: a burst faster than ingest handles messages
(admission, encoding: ~70 µs each) filled the socket buffers, then the broker's queue, and
the broker dropped the rest.

So ingest reads as fast as the socket delivers and handles at its own pace:
- the adapter reads up to `READ_BURST` packets each time the socket is readable
  (mqtt_paho.py; paho's `loop_read` reads one, then the event loop polls again);
- `Inbox` keeps what was read (each QoS 1 message holds its slot of the window until its
  event is stored, as before) and its reader takes it in slices of `SLICE`, yielding to
  the event loop between slices so the socket is read in between.
The backlog of a burst then waits in ingest, inside the window, not at the broker.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

READ_BURST = 512
SLICE = 64
T = TypeVar("T")


class Inbox(Generic[T]):
    """Items read and not yet handled; `items()` yields them in order, in slices."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._wake = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: T) -> None:
        self._items.append(item)
        self._wake.set()

    def close(self) -> None:
        """Nothing more comes: `items()` ends once what is here is yielded."""
        self._closed = True
        self._wake.set()

    async def items(self) -> AsyncIterator[T]:
        items = self._items
        while True:
            while items:
                for _ in range(min(SLICE, len(items))):
                    yield items.popleft()
                await asyncio.sleep(0)  # let the socket be read between slices
            if self._closed:
                return
            self._wake.clear()
            await self._wake.wait()
