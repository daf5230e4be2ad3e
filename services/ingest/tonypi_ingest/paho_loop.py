"""Driving one paho client's socket from the asyncio event loop, through paho's API for an
external event loop: its socket callbacks, `loop_read`, `loop_write` and `loop_misc`.

Each time the socket is readable, up to `READ_BURST` packets are read while they are
messages (inbox.py: the socket is read ahead of the handling, so the broker never queues
for ingest); anything else read (an ack), or nothing left, and the loop polls again.
paho's blocking `connect` runs in a thread and calls back from it: the loop is touched
only from its own thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from paho.mqtt.client import Client, MQTTErrorCode

from .inbox import READ_BURST

SUCCESS = MQTTErrorCode.MQTT_ERR_SUCCESS


class SocketDriver:
    """`messages_read()` counts the messages paho handed over so far; `broken(exc)` is told
    when reading or writing raised (paho reports a closed connection through on_disconnect)."""

    def __init__(
        self, paho: Client, messages_read: Callable[[], int], broken: Callable[[Exception], None]
    ) -> None:
        self._paho, self._messages_read, self._broken = paho, messages_read, broken
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._fd = -1
        self._misc: asyncio.Task | None = None
        paho.on_socket_open = lambda _c, _u, sock: self._on_loop(self._watch, sock.fileno())
        paho.on_socket_close = lambda _c, _u, _sock: self._on_loop(self.stop)
        paho.on_socket_register_write = lambda _c, _u, sock: self._on_loop(self._want_write, sock.fileno())
        paho.on_socket_unregister_write = lambda _c, _u, sock: self._on_loop(
            self._unwant_write, sock.fileno()
        )

    def stop(self) -> None:
        """Stop watching the socket (closed, or given up on)."""
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
            self._fd = -1
        if self._misc is not None:
            self._misc.cancel()

    def _on_loop(self, fn, *args) -> None:
        if threading.get_ident() == self._thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _watch(self, fd: int) -> None:
        self._fd = fd
        self._loop.add_reader(fd, self._readable)
        self._misc = self._loop.create_task(self._keepalive())

    def _want_write(self, fd: int) -> None:
        if fd == self._fd:  # not a socket closed in the meantime
            self._loop.add_writer(fd, self._writable)

    def _unwant_write(self, fd: int) -> None:
        if fd == self._fd:
            self._loop.remove_writer(fd)

    def _readable(self) -> None:
        try:
            for _ in range(READ_BURST):
                before = self._messages_read()
                if self._paho.loop_read() != SUCCESS:
                    return  # lost: paho called on_disconnect and closed the socket
                if self._messages_read() == before:
                    return  # nothing more to read, or not a message: the loop polls again
        except Exception as exc:  # the socket broke under paho
            self.stop()
            self._broken(exc)

    def _writable(self) -> None:
        try:
            self._paho.loop_write()
        except Exception as exc:
            self.stop()
            self._broken(exc)

    async def _keepalive(self) -> None:
        """PINGREQ when due; paho notices an unanswered one (and calls on_disconnect)."""
        while self._paho.loop_misc() == SUCCESS:
            await asyncio.sleep(1)
