"""Cross-origin access for the operators' browser dashboard.

The seed allowed its dashboard's origins; a dashboard served from another origin cannot
call the API without these headers. Only the configured origins are answered.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "Link, Location, WWW-Authenticate"  # pagination, 202 answers, 401 reasons


def cors_middleware(allowed_origins: frozenset[str]):
    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        response: web.StreamResponse
        origin = request.headers.get("Origin")
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if origin is None or origin not in allowed_origins:
            if preflight:  # answered here, without CORS headers: the browser sends nothing
                response = web.json_response(
                    {"detail": f"Cross-origin requests from {origin!r} are not allowed"}, status=403
                )
            else:
                try:
                    response = await handler(request)
                except web.HTTPException as exc:
                    response = exc
            # Whether CORS headers are present depends on Origin: caches must keep them apart.
            response.headers["Vary"] = "Origin"
            return response
        if preflight:
            response = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            # Bearer tokens, not cookies: no Allow-Credentials. Only these two headers.
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
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
