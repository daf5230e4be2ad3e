"""An operator's day in the console, in Chromium against the real stack: sign in, watch a
simulated robot appear and update live, stop and resume it (and the fleet) and see each
robot's outcome as the API reports it, acknowledge an alarm, and visit every page."""

from __future__ import annotations

import re

from playwright.async_api import expect
from tonypi_events import EventType

from .browser import Console


async def test_an_operator_watches_stops_resumes_and_acknowledges(
    console: Console, tokens, ingests, robots, fleet_api
):
    await ingests.start()
    page = console.page
    await console.sign_in(tokens["operator"])
    await expect(page.locator("#who")).to_contain_text("operator-ann (operator)")
    # The token lives in this tab's session storage, never in local storage.
    assert await page.evaluate("() => localStorage.length") == 0
    assert await page.evaluate("() => sessionStorage.getItem('tonypi.console.token')") == tokens["operator"]
    await expect(page.locator("#feed-state")).to_have_text("live feed: live")
    rows = page.get_by_test_id("fleet-rows")
    await expect(rows.locator("tr")).to_have_count(0)

    # A robot comes online: its row appears without a reload, then fills from its messages.
    robots.start("sim-1", speed=10)
    row = rows.locator('tr[data-robot="sim-1"]')
    await expect(row).to_be_visible()
    await expect(row.locator("td.online")).to_have_text("online")
    await expect(row.locator("td.battery")).to_have_text(re.compile(r"^\d+$"))
    await expect(row.locator("td.temperature")).to_have_text(re.compile(r"^\d+\.\d$"))
    await console.shot("fleet")

    # Stop it, confirming first; the outcome is the robot's own answer.
    outcome = page.get_by_test_id("fleet-outcome")
    await row.get_by_test_id("stop").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(outcome.get_by_test_id("command-state")).to_have_text("succeeded")
    await expect(outcome.locator('li[data-robot="sim-1"] .outcome')).to_have_text("confirmed")
    await row.get_by_test_id("resume").click()
    await expect(outcome).to_contain_text("resume")
    await expect(outcome.get_by_test_id("command-state")).to_have_text("succeeded")

    # The fleet's stop is one click (and a confirmation) away on every page; cancel does nothing.
    await page.get_by_test_id("fleet-stop").click()
    await page.get_by_test_id("confirm-no").click()
    await expect(page.get_by_test_id("estop-outcome")).to_be_empty()
    await page.get_by_test_id("fleet-stop").click()
    await page.get_by_test_id("confirm-yes").click()
    fleet_outcome = page.get_by_test_id("estop-outcome")
    await expect(fleet_outcome.get_by_test_id("command-state")).to_have_text("succeeded")
    await expect(fleet_outcome.locator('li[data-robot="sim-1"] .outcome')).to_have_text("confirmed")
    await console.shot("fleet-stopped")
    await page.get_by_test_id("fleet-resume").click()
    await expect(fleet_outcome).to_contain_text("resume")
    await expect(fleet_outcome.get_by_test_id("command-state")).to_have_text("succeeded")

    # An alarm is raised while the alarms page is open; the operator acknowledges it.
    await console.go("#/alarms")
    await expect(page.get_by_test_id("alarms-table")).to_be_visible()
    await fleet_api.publish(EventType.BATTERY, "dock-7", {"percentage": 4.0})
    alarm = page.locator('[data-testid="alarm-rows"] tr', has_text="dock-7")
    await expect(alarm.locator("td.kind")).to_have_text("battery")
    await alarm.get_by_test_id("ack").click()
    await expect(alarm.locator("td.ack")).to_contain_text("operator-ann")
    await expect(alarm.get_by_test_id("ack")).to_have_count(0)
    await console.shot("alarms")

    # The robot's page: its commands with their outcomes.
    await console.go("#/robot/sim-1")
    commands = page.get_by_test_id("commands-table")
    await expect(commands).to_contain_text("emergency_stop")
    await expect(commands).to_contain_text("sim-1: confirmed")
    await console.shot("robot")
    # A job scheduled on a cron, listed, then paused.
    await console.go("#/jobs")
    form = page.get_by_test_id("schedule-form")
    await form.locator('input[name="robot_ids"]').fill("sim-1")
    await form.locator('input[name="task_name"]').fill("Night inventory")
    await form.locator('input[name="cron"]').fill("0 3 * * *")
    await form.get_by_role("button", name="Schedule").click()
    schedule = page.get_by_test_id("schedules").locator("tr", has_text="Night inventory")
    await expect(schedule.locator("td.state")).to_have_text("active")
    await schedule.get_by_role("button", name="pause").click()
    await expect(schedule.locator("td.state")).to_have_text("paused")
    for name in ("jobs", "logs", "analytics"):
        await console.go(f"#/{name}")
        await expect(page.locator(f'main[data-page="{name}"] h1')).to_be_visible()
        await console.shot(name)
    assert console.dialogs == []
    assert console.errors == []
