"""Signing in to the console through the identity provider: authorization code with PKCE.
The provider issues a token only for the verifier whose S256 challenge came with the code;
the console then works with that token and shows its role."""

from __future__ import annotations

from playwright.async_api import expect

from tests.query.conftest import _serve
from tests.query.idp import oidc_env
from tests.support.ports import free_port

from .browser import Console
from .provider import CodeProvider


async def test_an_operator_signs_in_with_the_identity_provider(
    browser, stack_env, projector, fleet_api, request
):
    provider = CodeProvider("operator", "olga")
    await provider.start()
    port = free_port()
    env = {
        **stack_env,
        **oidc_env(provider.url),
        "QUERY_PORT": str(port),
        "OIDC_CONSOLE_CLIENT_ID": "tonypi-console",
        "OIDC_AUTHORIZE_URL": provider.url_of("/authorize"),
        "OIDC_TOKEN_URL": provider.url_of("/token"),
    }
    api = await _serve(env, anonymous=True)
    console = await Console.open(browser, f"http://127.0.0.1:{port}", request.node.name)
    try:
        await fleet_api.status("r-1")
        await fleet_api.applied()
        page = console.page
        await page.goto(f"{console.base}/console/")
        await page.get_by_test_id("oidc").click()
        await expect(page.locator("#who")).to_contain_text("olga (operator)")
        assert (provider.issued, provider.refused) == (1, [])
        assert page.url == f"{console.base}/console/"  # the code is off the address bar
        await expect(page.locator('[data-testid="fleet-rows"] tr[data-robot="r-1"]')).to_be_visible()
        await expect(page.get_by_test_id("fleet-stop")).to_be_visible()
        assert await page.evaluate("() => localStorage.length") == 0
        await console.shot("oidc-signed-in")
        assert console.dialogs == [] and console.errors == []
    finally:
        await console.close()
        await api.close()
        await provider.stop()
