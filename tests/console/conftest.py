"""The console's fixtures: the query service's fakes (server-side unit tests), and for the
browser tests the real stack (projector and ingest as processes, the query app in-process
on the test's port, simulated robots on the real Mosquitto) with Debian's Chromium driven
by Playwright (its own browser download is not used)."""

from __future__ import annotations

import pytest

from tests.commands.conftest import (  # noqa: F401 (fixtures)
    fleet_api,
    ingests,
    projector,
    query_env,
    robots,
    stack_env,
)
from tests.query.conftest import _serve, fake_api, fake_reads, fake_writes  # noqa: F401 (fixtures)
from tests.query.events import grant_token
from tests.support.tools import tool

from .browser import Console, launch


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium; skipped with the reason where it is missing, required in CI."""
    return tool("chromium")


@pytest.fixture
async def browser(chromium):
    async with launch(chromium) as running:
        yield running


@pytest.fixture
async def api(stack_env, projector):
    """The query app on the test's QUERY_PORT (the console's origin), with an operator client."""
    client = await _serve(stack_env)
    yield client
    await client.close()


@pytest.fixture
async def tokens(api, stack_env) -> dict[str, str]:
    """One token per role, as rows the token fold would write."""
    url = stack_env["DATABASE_URL"]
    return {role: await grant_token(url, f"{role}-ann", role) for role in ("viewer", "operator", "admin")}


@pytest.fixture
async def console(browser, api, stack_env, request):
    page = await Console.open(browser, f"http://127.0.0.1:{stack_env['QUERY_PORT']}", request.node.name)
    yield page
    await page.close()
