"""The organiser's patrol night in a real Chromium, through the whole city (the four services and the console on
loopback ports): sign in, register two checkpoints (the first refused by patrol for its place, the reason by that
field and what was typed kept; a click on the map fills the position), a route through both (picked by clicking them)
and a plan for tonight; then a patrol phone scans through patrol's API and the rounds page, refreshing by itself,
shows the round late, in progress and done in its table and on its map (the markers' state classes); the rounds
CSV keeps its Chinese. No content-security-policy violation and no script error on the way."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_stack.service_harness import local
from pingan_stack.test_databases import TestDatabases

from .city import City, running_city, sign_in

pytestmark = pytest.mark.browser
TONIGHT = date(2026, 3, 2)
POSITION = re.compile(r"^\d+\.\d{6}$")  # what a click on the map writes into a position field
REFRESH = 20_000  # ms: the rounds page asks again every 5 s, and patrol's consumer attaches a scan in moments
WATCH_POLICY = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str) -> AsyncIterator[City]:
    # the night's clock moves by an hour and more: the session's idle limit is the sign-in tests' matter
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(local(TONIGHT, 19)),
                            session_idle_minutes=240) as running:
        await running.add_account("tx.organiser", "organiser", display_name="塘下镇平安办")
        yield running


async def scan(city: City, scan_id: str, checkpoint_id: str, minute: int) -> None:
    """A patrol phone of 一队 sends one scan, as its app does."""
    await city.advance_to(local(TONIGHT, 20, minute))
    await city.call("patrol", "POST", "/v1/scans", city.token(Role.PATROL_DEVICE, "device-07", team="一队"), json={
        "scan_id": scan_id, "member_id": "张三", "team_id": "一队", "checkpoint_id": checkpoint_id,
        "device_time": local(TONIGHT, 20, minute).isoformat(), "method": "nfc"}, expect=201)


async def shows(page: Page, state: str, markers: dict[str, str]) -> None:
    """The round's row and each checkpoint's marker on the map are in these states."""
    await expect(page.locator("#rounds-table tbody tr[data-round]")).to_have_attribute("data-state", state,
                                                                                      timeout=REFRESH)
    for checkpoint_id, marker_state in markers.items():
        await expect(page.locator(f'#patrol-map path[data-checkpoint="{checkpoint_id}"]')).to_have_class(
            re.compile(rf"(^| )cp-state-{marker_state}( |$)"), timeout=REFRESH)


async def test_an_organiser_plans_a_night_and_watches_its_round_change_state(city: City, page: Page,
                                                                             tmp_path: Path) -> None:
    await page.context.add_init_script(WATCH_POLICY)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{message.text} {message.location['url']}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in(page, city, "tx.organiser")

    await page.get_by_role("link", name="巡逻点位").first.click()
    await expect(page.locator("#patrol-map")).to_have_attribute("data-ready", "true")
    await expect(page.locator(".place-label", has_text="塘下镇")).to_be_visible()  # the places, without tiles
    await page.get_by_role("link", name="新建点位").click()
    await expect(page.locator("#patrol-map")).to_have_attribute("data-ready", "true")
    await page.locator("#patrol-map").click(position={"x": 300, "y": 200})
    await expect(page.locator("#f-latitude")).to_have_value(POSITION)
    await expect(page.locator("#f-longitude")).to_have_value(POSITION)
    await page.fill("#f-id", "CP-1")
    await page.fill("#f-name", "韩田村口")
    await page.fill("#f-tag", "NFC-韩田村口")
    await page.select_option("#f-expected_method", "nfc")
    await page.fill("#f-latitude", "27.8490")
    await page.fill("#f-longitude", "120.6580")
    await page.fill("#f-area", "不存在镇")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("#e-area")).to_be_visible()  # patrol's reason, under the field it names
    await expect(page.locator("#e-area")).not_to_be_empty()
    await expect(page.locator("#f-name")).to_have_value("韩田村口")
    await expect(page.locator("#f-latitude")).to_have_value("27.8490")
    await page.fill("#f-area", "塘下镇")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator(".notice")).to_contain_text("已创建")
    await page.get_by_role("link", name="新建点位").click()
    for field, value in (("id", "CP-2"), ("name", "邵宅村桥头"), ("tag", "NFC-邵宅村桥头"), ("latitude", "27.8560"),
                         ("longitude", "120.6640"), ("area", "塘下镇")):
        await page.fill(f"#f-{field}", value)
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("#patrol-map path.cp-method-nfc")).to_have_count(1)
    await expect(page.locator("#patrol-map path.cp-marker")).to_have_count(2)

    await page.get_by_role("link", name="巡逻路线").first.click()
    await page.get_by_role("link", name="新建路线").click()
    await page.fill("#f-id", "R-TX")
    await page.fill("#f-name", "塘下夜巡一线")
    await page.fill("#f-area", "塘下镇")
    await page.click('button.pick-checkpoint[data-checkpoint-id="CP-1"]')
    await page.click('button.pick-checkpoint[data-checkpoint-id="CP-2"]')
    await expect(page.locator("#f-checkpoint_ids")).to_have_value("CP-1\nCP-2")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator("h1")).to_contain_text("塘下夜巡一线")
    await expect(page.locator(".route-order li")).to_have_count(2)

    await page.get_by_role("link", name="巡逻计划").first.click()
    await page.get_by_role("link", name="新建计划").click()
    await page.fill("#f-id", "P-TX-tonight")
    await page.select_option("#f-team_id", "一队")
    await page.select_option("#f-route_id", "R-TX")
    await page.fill("#f-last_date", "")
    await page.fill("#f-window_start", "20:00")
    await page.fill("#f-window_end", "22:00")
    await page.fill("#f-every_minutes", "")
    await page.fill("#f-rounds_per_night", "1")
    await page.get_by_role("button", name="创建").click()
    await expect(page.locator(".notice")).to_contain_text("已生成 1 个轮次")

    await page.get_by_role("link", name="今晚巡逻").first.click()
    await shows(page, "pending", {"CP-1": "pending", "CP-2": "pending"})
    await city.advance_to(local(TONIGHT, 20, 16))  # the start grace is over and nobody has scanned
    await shows(page, "late", {"CP-1": "late", "CP-2": "late"})
    await scan(city, "s-1", "CP-1", 17)
    await shows(page, "in_progress", {"CP-1": "done", "CP-2": "in_progress"})
    await expect(page.locator("#rounds-table")).to_contain_text("巡逻中")
    await scan(city, "s-2", "CP-2", 35)
    await shows(page, "done", {"CP-1": "done", "CP-2": "done"})
    await expect(page.locator("#rounds-table")).to_contain_text("2/2")

    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="导出 CSV").click()
    saved = tmp_path / "rounds.csv"
    await (await downloading.value).save_as(saved)
    text = saved.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff时段 Window") and "塘下夜巡一线" in text and "已完成" in text

    await page.click(".lang-switch")
    await expect(page.locator("h1")).to_contain_text("Tonight's rounds")
    await expect(page.locator("#rounds-table")).to_contain_text("done")
    assert await page.evaluate("window.__violations") == []
    # the browser logs the refused form's answer (422); the console serves no favicon
    assert [e for e in errors if not e.endswith("/favicon.ico")] == [
        f"Failed to load resource: the server responded with a status of 422 (Unprocessable Entity) "
        f"{city.url}/patrol/checkpoints/new"]
