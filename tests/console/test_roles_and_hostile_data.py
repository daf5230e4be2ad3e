"""What a role may not do is not offered, the live feed resumes after a drop, an admin edits
settings, and hostile strings from
robots stay text: no dialog, no element injected, no `javascript:` link, ANSI escapes and
right-to-left overrides neutralised."""

from __future__ import annotations

import aiohttp
import asyncpg
from playwright.async_api import expect
from tonypi_events import EventType

from tests.query.conftest import _serve

from .browser import Console

IMG = "<img src=x onerror=alert(1)>"
RLO = "\u202e"
ANSI_LINE = "\x1b[31mRED ALERT\x1b[0m \x1b]0;pwned\x07 <script>alert(2)</script> " + RLO + "txt.exe"


async def test_a_viewer_sees_no_action_and_an_admin_edits_settings(
    console: Console, tokens, fleet_api, api, stack_env
):
    await fleet_api.status("r-1")
    await fleet_api.publish(EventType.BATTERY, "r-1", {"percentage": 3.0})
    await fleet_api.job("r-1", "working", percent=40)
    await fleet_api.applied()
    page = console.page
    await console.sign_in(tokens["viewer"])
    await expect(page.locator("#who")).to_contain_text("viewer-ann (viewer)")
    row = page.locator('[data-testid="fleet-rows"] tr[data-robot="r-1"]')
    await expect(row).to_be_visible()
    await expect(row.locator("td.job")).to_contain_text("40%")  # its latest job, read on load
    await expect(row.locator("button")).to_have_count(0)
    await expect(page.get_by_test_id("fleet-stop")).to_have_count(0)

    await console.go("#/alarms")
    await expect(page.locator('[data-testid="alarm-rows"] tr', has_text="r-1")).to_be_visible()
    await expect(page.get_by_test_id("ack")).to_have_count(0)
    await console.go("#/jobs")
    await expect(page.get_by_test_id("jobs-history")).to_be_visible()
    await expect(page.get_by_test_id("dispatch-form")).to_have_count(0)
    await expect(page.get_by_test_id("schedule-form")).to_have_count(0)
    await console.go("#/robot/r-1")
    await expect(page.get_by_test_id("robot-facts")).to_contain_text("r-1")
    await expect(page.get_by_test_id("robot-stop")).to_have_count(0)
    await expect(page.get_by_test_id("settings-form")).to_have_count(0)

    await page.get_by_role("button", name="Sign out").click()
    assert await page.evaluate("() => sessionStorage.getItem('tonypi.console.token')") is None
    await page.get_by_test_id("token").fill(tokens["admin"])
    await page.get_by_role("button", name="Sign in").click()
    await console.go("#/robot/r-1")
    form = page.get_by_test_id("settings-form")
    await form.locator('input[name="location"]').fill("Dock 9")
    await form.get_by_role("button", name="Save").click()
    await expect(form).to_contain_text("saved")
    await expect(page.locator('dd[data-field="location"]')).to_have_text("Dock 9")
    await console.shot("robot-admin")

    # The feed drops (the query service restarts) and resumes with Last-Event-ID: what
    # happened meanwhile arrives, without a reload.
    await console.go("#/fleet")
    await expect(row.locator("td.battery")).to_have_text("3")
    await api.close()
    await expect(page.locator("#feed-state")).to_have_text("live feed: reconnecting")
    await fleet_api.publish(EventType.BATTERY, "r-1", {"percentage": 11.0})
    await fleet_api.applied()
    restarted = await _serve(stack_env)
    try:
        await expect(page.locator("#feed-state")).to_have_text("live feed: live")
        await expect(row.locator("td.battery")).to_have_text("11")
        # The token is revoked: at the next reconnect the console asks to sign in again.
        conn = await asyncpg.connect(stack_env["DATABASE_URL"])
        await conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE name = 'admin-ann'")
        await conn.close()
        await restarted.close()
        restarted = await _serve(stack_env)
        await expect(page.get_by_test_id("signin-error")).to_contain_text("Your session ended")
        assert await page.evaluate("() => sessionStorage.getItem('tonypi.console.token')") is None
    finally:
        await restarted.close()
    assert console.dialogs == []
    # Only the restarts' (the stream cut off, a connection refused while down) and the 401.
    expected = (
        "Failed to load resource: net::ERR_",
        "Failed to load resource: the server responded with a status of 401",
    )
    assert all(e.startswith(expected) for e in console.errors), console.errors


async def test_hostile_strings_stay_inert(console: Console, tokens, fleet_api):
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {tokens['admin']}"}) as admin:
        created = await admin.post(
            f"{console.base}/api/robots-db/robots", json={"robot_id": "evil-1", "name": IMG + RLO + "gnp.exe"}
        )
        assert created.status in (200, 202), await created.text()
    await fleet_api.status("evil-1")
    await fleet_api.log("evil-1", ANSI_LINE, "ERROR")
    await fleet_api.applied()
    page = console.page
    await console.sign_in(tokens["operator"])
    name = page.locator('[data-testid="fleet-rows"] tr[data-robot="evil-1"] td.name')
    await expect(name).to_have_text(IMG + "[U+202E]gnp.exe")
    await console.shot("hostile-fleet")

    await console.go("#/robot/evil-1")
    await expect(page.get_by_test_id("robot-facts")).to_contain_text(IMG)
    await expect(page.get_by_test_id("robot-log-table")).to_contain_text("RED ALERT")
    await fleet_api.status("evil-1", camera_url="javascript:alert(document.domain)")
    camera = page.get_by_test_id("camera")
    await expect(camera).to_contain_text("javascript:alert(document.domain)")
    assert await camera.evaluate("node => node.tagName") == "SPAN"
    await console.shot("hostile-robot")

    await console.go("#/logs")
    line = page.locator('[data-testid="log-rows"] td.message', has_text="RED ALERT").first
    await expect(line).to_be_visible()
    text = await line.text_content()
    assert "\x1b" not in text and "\x07" not in text and RLO not in text, repr(text)
    assert text == "RED ALERT  <script>alert(2)</script> [U+202E]txt.exe", repr(text)
    await console.shot("hostile-logs")
    await fleet_api.log("evil-1", "tailed while watching")  # the live tail puts it on top
    await expect(page.locator('[data-testid="log-rows"] tr').first).to_contain_text("tailed while watching")

    # Nothing was injected: no image, no script beyond the console's own, no javascript: link.
    assert await page.locator("img").count() == 0
    assert await page.evaluate("() => [...document.scripts].every(s => s.src.endsWith('/console/app.js'))")
    assert await page.locator('a[href^="javascript:" i]').count() == 0
    assert console.dialogs == []
    assert console.errors == []
