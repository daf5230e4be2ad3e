"""Driving the console in Chromium: sign-in, screenshots kept as test artefacts
(`.artifacts/console/`), and a record of what must never happen (a dialog, a script error,
a CSP violation)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, async_playwright, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"
TIMEOUT_MS = 30_000  # a shared 2-core box: the projector may be seconds behind
expect.set_options(timeout=TIMEOUT_MS)


@contextlib.asynccontextmanager
async def launch(executable: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # root in a container has no user namespaces for Chromium's sandbox
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            await browser.close()


class Console:
    """One tab on the console, recording every dialog and console error it shows."""

    def __init__(self, page: Page, base: str, name: str) -> None:
        self.page, self.base = page, base
        self.name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    @classmethod
    async def open(cls, browser: Browser, base: str, name: str) -> Console:
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return cls(page, base, name)

    async def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def _console(self, message: ConsoleMessage) -> None:
        # A 404 from a route this server lacks (history, analytics) is shown as "not
        # available"; Chromium still logs the answer. Anything else (a script error, a CSP
        # refusal) is recorded.
        if message.type == "error" and not message.text.endswith("status of 404 (Not Found)"):
            self.errors.append(message.text)

    async def sign_in(self, token: str, hash_: str = "#/fleet") -> None:
        await self.page.goto(f"{self.base}/console/{hash_}")
        await self.page.get_by_test_id("token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()
        await expect(self.page.locator("#who")).not_to_be_empty()

    async def go(self, hash_: str) -> None:
        await self.page.evaluate("(h) => { location.hash = h; }", hash_)

    async def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        await self.page.screenshot(path=str(path), full_page=False)
        return path

    async def close(self) -> None:
        await self.page.context.close()
