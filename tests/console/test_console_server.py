"""The console's server side against fakes: the static files at /console/, the sign-in
settings it gives the browser (no secret), whoami, and the security headers (a strict CSP on
the console, none of the API's answers renderable as a page)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from tonypi_query.bootstrap import init_app
from tonypi_query.config import ConfigError, load_settings

from tests.query.conftest import API
from tests.query.fakes import grant

OIDC_ENV = {
    "OIDC_JWKS_URL": "https://idp.example/jwks",
    "OIDC_ISSUER": "https://idp.example/",
    "OIDC_AUDIENCE": "tonypi",
}
CONSOLE_ENV = {
    "OIDC_CONSOLE_CLIENT_ID": "tonypi-console",
    "OIDC_AUTHORIZE_URL": "https://idp.example/authorize",
    "OIDC_TOKEN_URL": "https://login.idp.example/token",
}


async def test_the_console_is_served_with_a_strict_csp(fake_api):
    page = await fake_api.get("/console/")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert '<script type="module" src="app.js">' in html
    assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP forbids it
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    for asset, kind in (
        ("app.js", "javascript"),
        ("pages/fleet.js", "javascript"),
        ("style.css", "text/css"),
    ):
        response = await fake_api.get(f"/console/{asset}")
        assert response.status == 200, asset
        assert kind in response.content_type, asset
        assert "Content-Security-Policy" in response.headers


async def test_console_without_slash_redirects_and_nothing_outside_the_folder_is_served(fake_api):
    response = await fake_api.get("/console", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/console/")
    for path in ("/console/../bootstrap.py", "/console/%2e%2e/bootstrap.py", "/console/nothing.js"):
        assert (await fake_api.get(path)).status in (403, 404), path


async def test_api_answers_carry_the_security_headers(fake_api):
    for path in (f"{API}/robots", f"{API}/robots/ghost", "/api/robots-db/nowhere"):
        response = await fake_api.get(path)
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_whoami_names_the_caller_and_its_role(fake_api, fake_reads):
    assert await (await fake_api.get(f"{API}/whoami")).json() == {
        "name": "test-admin",
        "role": "admin",
        "via": "token",
    }
    viewer = grant(fake_reads, "alice", "viewer")
    response = await fake_api.get(f"{API}/whoami", headers={"Authorization": f"Bearer {viewer}"})
    assert await response.json() == {"name": "alice", "role": "viewer", "via": "token"}
    assert (await fake_api.get(f"{API}/whoami", headers={"Authorization": "Bearer nope"})).status == 401


async def test_config_without_oidc_offers_the_token_only(fake_api):
    config = await (await fake_api.get("/console/config.json")).json()
    assert config == {"api": "/api/robots-db", "reads_open": False, "oidc": None}


async def test_config_with_oidc_names_the_public_client_and_the_csp_allows_its_token_endpoint(
    fake_reads, fake_writes
):
    app = init_app(load_settings({**OIDC_ENV, **CONSOLE_ENV}), fake_reads, fake_writes)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/console/config.json")
        assert await response.json() == {
            "api": "/api/robots-db",
            "reads_open": False,
            "oidc": {
                "issuer": "https://idp.example/",
                "client_id": "tonypi-console",
                "authorize_url": "https://idp.example/authorize",
                "token_url": "https://login.idp.example/token",
                "scope": "openid",
                "audience": "tonypi",
            },
        }
        assert "connect-src 'self' https://login.idp.example" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({**OIDC_ENV, "OIDC_CONSOLE_CLIENT_ID": "c"}, "OIDC_AUTHORIZE_URL is required"),
        ({**OIDC_ENV, **CONSOLE_ENV, "OIDC_TOKEN_URL": "http://idp.example/token"}, "must be https"),
        (CONSOLE_ENV, "OIDC_JWKS_URL is not"),
    ],
)
def test_console_sign_in_settings_are_checked_at_start(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_every_console_file_is_in_the_package_data():
    """`pip install` (the images) ships only what package-data names: a console file of a kind
    the globs miss would be missing in production and present in development."""
    root = Path(__file__).resolve().parents[2] / "services" / "query"
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = globs["tonypi_query"]
    package = root / "tonypi_query"
    files = [p.relative_to(package) for p in (package / "console").rglob("*") if p.is_file()]
    assert files
    shipped = {p.relative_to(package) for pattern in patterns for p in package.glob(pattern)}
    assert sorted(map(str, set(files) - shipped)) == []
