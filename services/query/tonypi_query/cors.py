"""Cross-origin access for the operators' browser dashboard.

The seed allowed its dashboard's origins; a dashboard served from another origin cannot
call the API without these headers. Only the configured origins are answered.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
EXPOSED_HEADERS = "Link, Location"  # pagination and 202 answers


def cors_middleware(allowed_origins: frozenset[str]):
    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or origin not in allowed_origins:
            return await handler(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", "Content-Type"
            )
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # redirects raised by the routing middleware
                response = exc
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        return response

    return cors
