"""An MQTT broker for a machine that has none: amqtt, on one loopback port, until
SIGTERM/SIGINT. `python -m tonypi_cli.embedded_mqtt --host 127.0.0.1 --port 1883`.

amqtt keeps sessions in memory; there is nothing to persist for a demo fleet.
It does not implement shared subscriptions (`$share/...`), so one ingest replica.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal


async def serve(host: str, port: int) -> None:
    from amqtt.broker import Broker  # imported here: only this process needs it

    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    logging.getLogger("tonypi.embedded_mqtt").info("amqtt listening on %s:%d", host, port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tonypi.embedded_mqtt").setLevel(logging.INFO)
    # amqtt logs every client that goes away without a DISCONNECT (port probes do) as an error.
    logging.getLogger("amqtt").setLevel(logging.CRITICAL)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
