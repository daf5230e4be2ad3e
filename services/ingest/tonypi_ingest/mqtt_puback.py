"""The broker's PUBACKs for one paho connection's QoS 1 publishes (mqtt_paho.py).

Under MQTT 5 a PUBACK carries a reason code. Below 0x80 the broker took the message: 0x00
Success, or 0x10 No matching subscribers (Mosquitto's answer when no robot is subscribed
yet; the message was still accepted). From 0x80 up it did not: 0x87 Not authorized (its ACL
refuses ingest that topic), 0x90 Topic name invalid, 0x97 Quota exceeded, ... Mosquitto 2
answers an ACL-denied QoS 1 publish with 0x87 and keeps the connection. A refused `publish`
raises `PublishRefused`; nobody waits for a `send` (a scan reply), so a refused one is
counted in tonypi_ingest_replies_refused_total and logged at WARNING, once a minute per
reason code. MQTT 3.1.1 has no reason codes: a broker acknowledges a
publish it refuses (or disconnects), so there a refusal cannot be seen.
"""

from __future__ import annotations

import asyncio
import logging

from tonypi_runtime.logs import Throttled

from . import metrics
from .mqtt_port import MqttError, PublishRefused

log = logging.getLogger("tonypi_ingest.mqtt")
FAILURE = 0x80  # reason codes from here up say the receiver did not take it


def reason_text(reason_code, properties) -> str:
    """The code's name, and the broker's Reason String when it sent one."""
    text = str(reason_code)
    detail = getattr(properties, "ReasonString", None)
    return f"{text}: {detail}" if detail else text


class Pubacks:
    """QoS 1 publishes of one connection awaiting the broker's PUBACK, by packet id."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiting: dict[int, asyncio.Future[None]] = {}
        # mid -> (topic, whether a `publish` waits for it: else a `send`, a scan reply)
        self._sent: dict[int, tuple[str, bool]] = {}
        self._refused_sends = Throttled(log)

    def sent(self, mid: int, topic: str, *, awaited: bool = True) -> None:
        self._sent[mid] = (topic, awaited)

    async def wait(self, mid: int, timeout: float) -> None:
        """Return at the PUBACK; `PublishRefused` on a failure code, `MqttError` without one."""
        future = self._waiting[mid] = self._loop.create_future()
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise MqttError(f"no PUBACK from the broker within {timeout:g}s") from None
        finally:
            self._waiting.pop(mid, None)

    def answered(self, mid: int, reason_code, properties) -> None:
        """paho's `on_publish`: the PUBACK for `mid` arrived."""
        future = self._waiting.pop(mid, None)
        topic, awaited = self._sent.pop(mid, (None, True))
        code = getattr(reason_code, "value", reason_code)
        refused = None
        if code >= FAILURE:
            refused = PublishRefused(topic or "?", code, reason_text(reason_code, properties))
        if future is not None and not future.done():
            if refused is None:
                future.set_result(None)
            else:
                future.set_exception(refused)
        elif refused is not None and not awaited:
            metrics.REPLIES_REFUSED.inc()
            self._refused_sends.warning(f"refused-{code}", "%s: not delivered", refused)
        elif refused is not None:  # a publish given up on already (timed out: counted by its caller)
            log.info("%s, after its publisher stopped waiting", refused)

    def lose(self, error: MqttError) -> None:
        """The connection is gone: whoever waits is told; no PUBACK comes any more."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()
        self._sent.clear()
