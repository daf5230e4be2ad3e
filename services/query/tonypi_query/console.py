"""The operator console: static files served at /console/ from this package (no build step,
no CDN), its sign-in settings at /console/config.json (no secret: a public client), and the
security headers every answer carries (the console's strict Content-Security-Policy)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from .config import QuerySettings

ROOT = Path(__file__).with_name("console")
PREFIX = "/console"

# Every answer: never sniffed into another type, never framed, no referrer leaves.
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# The API's JSON and streams are data, never a document: nothing may run or load from them.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def console_csp(settings: QuerySettings) -> str:
    """Scripts and styles from this origin only (no inline script or style), data only to
    this origin and the identity provider's token endpoint (the PKCE exchange)."""
    connect = ["'self'"]
    sign_in = settings.oidc.console if settings.oidc is not None else None
    if sign_in is not None:
        parts = urlsplit(sign_in.token_url)
        connect.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def console_config(settings: QuerySettings) -> dict:
    sign_in = settings.oidc.console if settings.oidc is not None else None
    oidc = None
    if sign_in is not None:
        oidc = {
            "issuer": settings.oidc.issuer,
            "client_id": sign_in.client_id,
            "authorize_url": sign_in.authorize_url,
            "token_url": sign_in.token_url,
            "scope": sign_in.scope,
            "audience": settings.oidc.audience,
        }
    return {"api": "/api/robots-db", "reads_open": settings.reads_open, "oidc": oidc}


def add_console_routes(app: web.Application, settings: QuerySettings) -> None:
    config = console_config(settings)

    async def to_console(_: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": f"{PREFIX}/"})

    async def index(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(ROOT / "index.html", headers={"Cache-Control": "no-cache"})

    async def config_json(_: web.Request) -> web.StreamResponse:
        return web.json_response(config, headers={"Cache-Control": "no-cache"})

    app.router.add_get(PREFIX, to_console, name="console_redirect")
    app.router.add_get(f"{PREFIX}/", index, name="console_index")
    app.router.add_get(f"{PREFIX}/config.json", config_json, name="console_config")
    app.router.add_static(f"{PREFIX}/", ROOT, name="console_static", show_index=False, follow_symlinks=False)
    headers = {**COMMON_HEADERS}
    csp = console_csp(settings)

    async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        path = request.path
        if path == PREFIX or path.startswith(f"{PREFIX}/"):
            response.headers["Content-Security-Policy"] = csp
        elif path.startswith("/api/"):
            response.headers["Content-Security-Policy"] = API_CSP

    app.on_response_prepare.append(security_headers)
