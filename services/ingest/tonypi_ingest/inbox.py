"""Reading the MQTT socket ahead of handling what it brought (issue 23).

Mosquitto 2.0 caps the packets it has queued for one connection and not yet written to
its socket at `max_queued_messages` (1000 in the stock configuration) and drops what goes
beyond, QoS 1 publishes inside the client's Receive Maximum included ("Outgoing messages
are being dropped for client ..."). So the window does not protect a subscriber that reads
its socket slower than the broker sends: a burst faster than ingest handles messages
(admission, encoding: ~70 µs each) filled the socket buffers, then the broker's queue, and
the broker dropped the rest.

So ingest reads as fast as the socket delivers and handles at its own pace:
- `read_ahead` makes paho read up to `READ_BURST` packets per readable event (paho's own
  `loop_read` reads one, then the event loop polls again);
- `Inbox` keeps what was read (each QoS 1 message holds its slot of the window until its
  event is stored, as before) and a task of its own handles it in slices of `SLICE`,
  yielding between slices so the socket is read in between.
The backlog of a burst then waits in ingest, inside the window, not at the broker.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from paho.mqtt.client import MQTTErrorCode

READ_BURST = 512
SLICE = 64


def read_ahead(paho, limit: int = READ_BURST) -> None:
    """Make this paho client read up to `limit` packets each time its socket is readable."""

    def loop_read(max_packets: int = 1) -> MQTTErrorCode:
        for _ in range(limit):
            if paho._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = paho._packet_read()
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            if rc > 0:
                return paho._loop_rc_handle(rc)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    paho.loop_read = loop_read  # aiomqtt's reader callback calls client.loop_read()


class Inbox:
    """Items read and not yet handled, handled in order by `run()` in slices."""

    def __init__(self, handle: Callable[[object], None]) -> None:
        self._handle = handle
        self._items: deque = deque()
        self._wake = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item) -> None:
        self._items.append(item)
        self._wake.set()

    def close(self) -> None:
        """Nothing more comes: `run()` returns once what is here is handled."""
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        items, handle = self._items, self._handle
        while True:
            await self._wake.wait()
            self._wake.clear()
            while items:
                for _ in range(min(SLICE, len(items))):
                    handle(items.popleft())  # the handler catches its own errors
                await asyncio.sleep(0)  # let the socket be read between slices
            if self._closed:
                return
