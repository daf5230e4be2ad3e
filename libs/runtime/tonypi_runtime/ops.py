"""The ops endpoints every service serves: /metrics, /livez, /readyz."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

# Returns (ready, reasons): reasons say, per dependency, why the service is not ready.
ReadinessCheck = Callable[[], Awaitable[tuple[bool, dict[str, str]]]]


def add_ops_routes(
    app: web.Application, ready: ReadinessCheck, registry: CollectorRegistry = REGISTRY
) -> None:
    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def livez(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_: web.Request) -> web.Response:
        ok, checks = await ready()
        return web.json_response(
            {"status": "ready" if ok else "not ready", "checks": checks}, status=200 if ok else 503
        )

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)


class OpsServer:
    """A small HTTP server for the ops endpoints, for services that serve nothing else."""

    def __init__(
        self, host: str, port: int, ready: ReadinessCheck, registry: CollectorRegistry = REGISTRY
    ) -> None:
        self.host, self.port = host, port
        self._app = web.Application()
        add_ops_routes(self._app, ready, registry)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
