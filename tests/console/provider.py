"""A stand-in identity provider for the console's sign-in: the OIDC tests' keys and JWKS
(tests/query/idp.py) plus an authorization endpoint that redirects back with a code and a
token endpoint that issues a signed access token only for the PKCE verifier of that code."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from aiohttp import web

from tests.query.idp import JwksServer, Key, claims, sign


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class CodeProvider(JwksServer):
    def __init__(self, role: str, subject: str) -> None:
        self.key = Key("console-1")
        super().__init__([self.key])
        self.role, self.subject = role, subject
        self.codes: dict[str, dict[str, str]] = {}
        self.refused: list[str] = []
        self.issued = 0

    def url_of(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="code flow with S256 only")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {k: q[k] for k in ("code_challenge", "redirect_uri", "client_id")}
        back = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
        return web.Response(status=302, headers={"Location": back})

    async def _token(self, request: web.Request) -> web.Response:
        cors = {"Access-Control-Allow-Origin": request.headers.get("Origin", "*")}
        form = await request.post()
        grant = self.codes.pop(str(form.get("code")), None)  # a code works once
        reason = None
        if grant is None:
            reason = "unknown or used code"
        elif s256(str(form.get("code_verifier", ""))) != grant["code_challenge"]:
            reason = "the verifier does not match the challenge"
        elif form.get("redirect_uri") != grant["redirect_uri"] or form.get("client_id") != grant["client_id"]:
            reason = "another client or redirect"
        if reason is not None:
            self.refused.append(reason)
            return web.json_response(
                {"error": "invalid_grant", "error_description": reason}, status=400, headers=cors
            )
        self.issued += 1
        token = sign(self.key, claims(self.role, sub=self.subject))
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": 300}, headers=cors
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
