"""The 211 cycle in a real Chromium over the whole city: an inspector records a finding with a photo in the covert
phase (its EXIF date shown); the unit finds it nowhere — no menu page, no URL, no photo — until the release; then
the unit sees its task with the deadline and submits a rectification with a photo; the inspector rejects it once
saying what remains, then verifies; the scorecard shows the unit. The attacks a browser allows, on the way: a
finding whose text holds ``<script>`` renders as text and runs nothing; another unit's session opens neither the
task nor its photo (404)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Dialog, Page, expect

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_stack.service_harness import local
from pingan_stack.test_databases import TestDatabases
from pingan_stack.testing import eventually

from .city import City, running_city, sign_in
from .inspection_story import CYCLE, CYCLE_NAME, UNITS, cycle_body, phone_jpeg, photo_urls

pytestmark = pytest.mark.browser
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai
DAY = date(2026, 3, 2)
SEALED_TEXT = "消防通道被电动车堵塞"
SCRIPT_TEXT = '<script>alert("pwned")</script>楼道堆放杂物'
PHOTO_LIMIT = 200_000  # bytes per photo: the test's photos are far smaller


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str,
               tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[City]:
    photos = tmp_path_factory.mktemp("inspection-photos")
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(START),
                            photo_store=f"file:{photos}", photo_max_bytes=PHOTO_LIMIT) as running:
        await running.add_account("wang.wu", "inspector", display_name="暗访检查员王五")
        await running.add_account("anyang", "unit", display_name="安阳街道联络员", unit_id="U-AY")
        await running.add_account("yuhai", "unit", display_name="玉海街道联络员", unit_id="U-YH")
        setup = running.token(Role.INSPECTOR, "setup")
        for unit in UNITS:
            await running.call("inspection", "POST", "/v1/units", setup, json=unit)
        await running.call("inspection", "POST", "/v1/cycles", setup, json=cycle_body(DAY))
        yield running


async def until_phase(city: City, phase: str, moment: datetime) -> None:
    await city.advance_to(moment)

    async def reached() -> bool:
        cycle = await city.call("inspection", "GET", f"/v1/cycles/{CYCLE}", city.token(Role.INSPECTOR))
        return bool(cycle["phase"] == phase)
    await eventually(reached, timeout=30, interval=0.2, what=f"the cycle in its {phase} phase")


async def thumbnail_loaded(page: Page) -> None:
    """The page's first thumbnail is there and its image loaded (not only its box laid out)."""
    await expect(page.locator(".photos img").first).to_be_visible()
    await page.wait_for_function("() => { const img = document.querySelector('.photos img');"
                                 " return img && img.complete && img.naturalWidth > 0; }")


def watch_dialogs(page: Page) -> list[str]:
    """Every alert/confirm the page raises (an injected script would): recorded, then dismissed."""
    seen: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        seen.append(dialog.message)
        await dialog.dismiss()
    page.on("dialog", dismiss)
    return seen


async def record_finding(page: Page, city: City, township: str, description: str, photo: bytes | None) -> str:
    await page.goto(f"{city.url}/inspection/findings/new")
    await page.select_option("#f-township_unit_id", township)
    # htmx narrows the place picker to the township's places from the directory
    if township == "U-AY":
        await expect(page.locator("#places option[value='万松社区']")).to_have_count(1)
        await expect(page.locator("#places option[value='韩田村']")).to_have_count(0)
    await page.select_option("#f-category", "fire")
    await page.fill("#f-place", "万松社区")
    await page.fill("#f-description", description)
    if photo is not None:
        # too large a file is said at once, before anything is sent (static/inspection.js)
        await page.set_input_files("#f-photos", files=[{"name": "RAW.jpg", "mimeType": "image/jpeg",
                                                        "buffer": b"\xff" * (PHOTO_LIMIT + 1)}])
        assert "超过" in await page.locator("#f-photos").evaluate("input => input.validationMessage")
        await page.set_input_files("#f-photos", files=[{"name": "IMG_0302.jpg", "mimeType": "image/jpeg",
                                                        "buffer": photo}])
        assert await page.locator("#f-photos").evaluate("input => input.validationMessage") == ""
    await page.click("form.finding-form button[type=submit]")
    await expect(page.locator(".notice")).to_contain_text("发现已记录")
    return page.url.split("?")[0]


async def unit_pages_show(page: Page, city: City, *texts: str) -> list[str]:
    """Walk every page of the unit's menu, and every link those pages offer within the console; the texts found."""
    await page.goto(f"{city.url}/")
    menu = [await a.get_attribute("href") for a in await page.locator("nav#menu a").all()]
    visited: set[str] = set()
    found: list[str] = []
    queue = [href for href in menu if href]
    while queue:
        href = queue.pop(0)
        if href in visited or href.startswith(("/signout", "/lang", "/static")) or "format=csv" in href:
            continue
        visited.add(href)
        response = await page.goto(f"{city.url}{href}")
        assert response is not None
        html = await page.content()
        found += [f"{text} @ {href}" for text in texts if text in html]
        if href.startswith("/inspection"):
            queue += [h for h in [await a.get_attribute("href") for a in await page.locator("main a").all()]
                      if h and h.startswith("/") and h not in visited]
    assert len(visited) >= 3, visited
    return found


async def test_the_211_cycle_from_a_covert_finding_to_the_scorecard(city: City, new_context: Any) -> None:
    inspector_context: BrowserContext = await new_context()
    inspector = await inspector_context.new_page()
    inspector_dialogs = watch_dialogs(inspector)
    await sign_in(inspector, city, "wang.wu")

    # the covert phase: the cycle with its days left, then a finding with a photo, its EXIF date shown
    await inspector.goto(f"{city.url}/inspection/cycles")
    await expect(inspector.locator("main")).to_contain_text(CYCLE_NAME)
    await expect(inspector.locator("main")).to_contain_text("暗访阶段")
    photo = phone_jpeg("2026:03:02 10:15:00")
    finding_url = await record_finding(inspector, city, "U-AY", SEALED_TEXT, photo)
    await expect(inspector.locator(".photos .caption")).to_contain_text("拍摄于 2026-03-02 10:15")
    await thumbnail_loaded(inspector)
    finding_photo = photo_urls(await inspector.content())[0]
    script_url = await record_finding(inspector, city, "U-YH", SCRIPT_TEXT, None)
    await expect(inspector.locator(".prose")).to_have_text(SCRIPT_TEXT)  # shown as text, run never

    # the unit: the sealed findings nowhere, by menu, by URL, by photo
    unit_context: BrowserContext = await new_context()
    unit = await unit_context.new_page()
    await sign_in(unit, city, "anyang")
    assert await unit_pages_show(unit, city, SEALED_TEXT, "楼道堆放杂物") == []
    for url in (finding_url, script_url):
        answer = await unit.goto(url)
        assert answer is not None and answer.status == 403
        assert SEALED_TEXT not in await unit.content()
    for url in (finding_photo, finding_photo + "/thumb"):
        answer = await unit.goto(f"{city.url}{url}")
        assert answer is not None and answer.status == 404

    # the release: the unit's task with its deadline; a rectification with a photo
    await until_phase(city, "rectification", local(DAY + timedelta(days=2), 9))
    for page, name in ((inspector, "wang.wu"), (unit, "anyang")):
        await sign_in(page, city, name)  # two days on: the sessions (on the city's clock) have ended
    await unit.goto(f"{city.url}/inspection/tasks")
    row = unit.locator("table.data tbody tr").first
    await expect(row).to_contain_text("2026-03-06")
    await expect(row).to_contain_text("剩 2 天")
    await row.locator("a").first.click()
    await unit.wait_for_url("**/inspection/tasks/T-*")
    task_url = unit.url
    await expect(unit.locator("main")).to_contain_text(SEALED_TEXT)
    await expect(unit.locator("main")).not_to_contain_text("wang.wu")
    task_photo = photo_urls(await unit.content())[0]
    await thumbnail_loaded(unit)
    await unit.fill("#f-text", "已清理电动车，通道畅通")
    await unit.set_input_files("#f-photos", files=[{"name": "after.jpg", "mimeType": "image/jpeg",
                                                     "buffer": phone_jpeg("2026:03:04 15:20:00", (30, 160, 60))}])
    await unit.click("form[action$='/rectification'] button[type=submit]")
    await expect(unit.locator(".notice")).to_contain_text("整改已提交")
    await expect(unit.locator(".timeline")).to_contain_text("拍摄于 2026-03-04 15:20")

    # another unit: neither the task nor its photo; its own task shows the <script> as text
    other_context: BrowserContext = await new_context()
    other = await other_context.new_page()
    other_dialogs = watch_dialogs(other)
    await sign_in(other, city, "yuhai")
    for url in (task_url, f"{city.url}{task_photo}", f"{city.url}{task_photo}/thumb"):
        answer = await other.goto(url)
        assert answer is not None and answer.status == 404, url
    await other.goto(f"{city.url}/inspection/tasks")
    await other.locator("table.data tbody tr a").first.click()
    await other.wait_for_url("**/inspection/tasks/T-*")
    await expect(other.locator(".prose")).to_have_text(SCRIPT_TEXT)

    # the inspector rejects once with what remains; the unit rectifies again; the inspector verifies
    await inspector.goto(task_url)
    await inspector.select_option("#f-outcome", "rejected")
    await inspector.fill("#f-remaining", "消防栓仍被遮挡")
    await inspector.click("form[action$='/revisit'] button[type=submit]")
    await expect(inspector.locator(".timeline")).to_contain_text("仍需整改：消防栓仍被遮挡")
    await unit.goto(task_url)
    await expect(unit.locator(".timeline")).to_contain_text("回访未通过")
    await unit.fill("#f-text", "消防栓已露出")
    await unit.set_input_files("#f-photos", files=[{"name": "again.jpg", "mimeType": "image/jpeg",
                                                     "buffer": phone_jpeg("2026:03:04 17:00:00", (200, 200, 30))}])
    await unit.click("form[action$='/rectification'] button[type=submit]")
    await expect(unit.locator(".notice")).to_contain_text("整改已提交")
    await inspector.goto(task_url)
    await inspector.click("form[action$='/revisit'] button[type=submit]")  # 整改到位，销号 is the default
    await expect(inspector.locator("main")).to_contain_text("已销号")

    # the close: the scorecard ranks and charts the unit
    await until_phase(city, "closed", local(DAY + timedelta(days=6), 1))
    await sign_in(inspector, city, "wang.wu")
    await inspector.goto(f"{city.url}/inspection/scorecards")
    await inspector.get_by_role("link", name=CYCLE_NAME).click()
    await inspector.wait_for_url(f"**/inspection/scorecards/{CYCLE}")
    await expect(inspector.locator("table.scorecard").first).to_contain_text("安阳街道（U-AY）")
    await expect(inspector.locator(".chart[data-chart-drawn=true]")).to_have_count(1)
    assert inspector_dialogs == [] and other_dialogs == [], "no injected script ran"
