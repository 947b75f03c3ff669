"""A volunteer's evening on a phone (390 × 844), in Chromium through the whole city: an organiser has published a
roster through roster's API; the member signs in, finds the menu folded away and opens it, sees their shifts
(tonight's marked), makes a calendar link and copies it (the link answers an iCalendar holding their shift), asks
for a swap that roster refuses (the reason under the colleague's field) and one it takes, checks in once the clock
reaches the shift's window (refused before), and reads the handoff reminder. Every page fits the screen's width
(no sideways scrolling) and everything a finger presses is at least 44 px high."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_stack.browser_testing import ContextFactory
from pingan_stack.test_databases import TestDatabases

from .city import City, running_city, sign_in
from .member_support import CONSOLE_SETTINGS, START, publish_member_roster, until

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
POLICE, ME, SPARE, AWAY = "TXP02", "TXA02", "TXB02", "TXC02"
# every control a finger presses on a member page: the frame's menu button, the menu, and the page's own
TARGETS = (".menu-toggle, #menu a, main a, main button, main select, main textarea, "
           "main input:not([type=hidden])")


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str) -> AsyncIterator[City]:
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(START),
                            **CONSOLE_SETTINGS) as running:
        await running.add_account("li.phone", "member", display_name="李巡逻", member_id=ME)
        yield running


async def assert_fits_a_phone(page: Page) -> None:
    """No sideways scrolling, and no visible control under 44 px high."""
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"{page.url}: the page is {width} px wide"
    small = await page.evaluate("""(selector) => Array.from(document.querySelectorAll(selector))
        .filter((el) => el.offsetParent !== null)
        .map((el) => [el.outerHTML.slice(0, 80), Math.round(el.getBoundingClientRect().height)])
        .filter(([, height]) => height < 44)""", TARGETS)
    assert small == [], f"{page.url}: controls under 44 px: {small}"


async def open_menu_entry(page: Page, name: str) -> None:
    """The phone's menu is folded behind its button: open it and follow an entry."""
    menu = page.locator("#menu")
    await expect(menu).to_be_hidden()
    await page.click(".menu-toggle")
    await expect(menu).to_be_visible()
    await assert_fits_a_phone(page)
    await menu.get_by_role("link", name=name).click()


async def test_a_member_works_an_evening_on_a_phone(city: City, new_context: ContextFactory) -> None:
    shifts: list[dict[str, Any]] = await publish_member_roster(city, period_id="J1", police=POLICE, member=ME,
                                                               spare=SPARE, away=AWAY)
    first, second = shifts[0]["shift_id"], shifts[1]["shift_id"]
    context = await new_context(**PHONE)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=city.url)
    page = await context.new_page()

    # signed in, the menu folded away; it opens on the button
    await sign_in(page, city, "li.phone")
    await assert_fits_a_phone(page)
    await open_menu_entry(page, "我的班次")
    await page.wait_for_url("**/me/shifts")
    cards = page.locator(".m-shift")
    await expect(cards).to_have_count(3)
    await expect(cards.first).to_contain_text("今天")
    await expect(cards.first).to_contain_text("19:00–23:00")
    await expect(cards.first).to_contain_text("塘下镇夜间巡逻")
    await expect(cards.nth(1)).not_to_contain_text("今天")
    await assert_fits_a_phone(page)

    # a calendar link: made, copied, and it answers the member's shifts as an iCalendar
    await page.get_by_role("link", name="日历订阅").first.click()
    await page.get_by_role("button", name="生成订阅链接").click()
    link = page.locator("#m-feed-url")
    await expect(link).to_be_visible()
    url = await link.input_value()
    assert url.startswith(f"{city.url}/calendar/feeds/") and url.endswith(".ics")
    assert await page.locator("a.m-webcal").get_attribute("href") == "webcal://" + url.split("://", 1)[1]
    await page.get_by_role("button", name="复制链接").click()
    await expect(page.get_by_role("button", name="已复制")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == url
    await assert_fits_a_phone(page)
    async with httpx.AsyncClient(timeout=10) as phone_calendar:
        feed = await phone_calendar.get(url)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert f"UID:{first}@roster.pingan" in feed.text.replace("\r\n ", "")

    # a swap roster refuses (the colleague is away), then one it takes
    await open_menu_entry(page, "调班申请")
    await page.get_by_role("link", name="新的调班申请").click()
    await page.select_option("#f-shift_id", second)
    await page.fill("#f-to_member_id", AWAY)
    await page.fill("#f-note", "家中有事")
    await page.get_by_role("button", name="提交申请").click()
    reason = page.locator("#e-to_member_id")
    await expect(reason).to_contain_text("出差")
    await expect(page.locator("#f-to_member_id")).to_have_value(AWAY)
    await expect(page.locator("#f-note")).to_have_value("家中有事")
    await assert_fits_a_phone(page)
    await page.fill("#f-to_member_id", SPARE)
    await page.get_by_role("button", name="提交申请").click()
    await page.wait_for_url("**/me/swaps?done=sent")
    await expect(page.locator(".notice")).to_contain_text("调班申请已提交")
    await expect(page.locator(".m-swap").first).to_contain_text("待审批")
    await expect(page.locator(".m-swap").first).to_contain_text(SPARE)
    await assert_fits_a_phone(page)

    # check-in: refused before the window, taken once the clock is in it (18:30; the reminder went at 17:00)
    await page.goto(f"{city.url}/me/shifts")
    await cards.first.locator("a").click()
    shift_page = page.url
    await page.get_by_role("button", name="签到").click()
    await expect(page.locator(".form-errors")).to_contain_text("不在该班次的签到时间内")
    await city.advance_to(datetime.fromisoformat(shifts[0]["starts_at"]) - timedelta(minutes=30))

    async def reminded() -> bool:
        return bool((await city.call("roster", "GET", "/v1/me/notices", city.token(Role.MEMBER, ME)))["items"])

    await until(reminded, "tonight's handoff reminder")
    await page.goto(shift_page)
    await page.get_by_role("button", name="签到").click()
    await expect(page.locator(".notice")).to_contain_text("签到成功")
    await expect(page.locator(".m-me")).to_contain_text("已到岗")
    await assert_fits_a_phone(page)

    # the handoff reminder: announced on my shifts, read on its page, then no longer new
    await page.goto(f"{city.url}/me/shifts")
    await page.get_by_role("link", name="条未读交接提醒").click()
    notice = page.locator(".m-notice")
    await expect(notice).to_have_count(1)
    await expect(notice).to_have_class("m-card m-notice m-unread-item")
    await expect(notice).to_contain_text("交接班提醒：12月7日19:00开始塘下镇夜间巡逻")
    await assert_fits_a_phone(page)
    await page.reload()  # the unread ones' view: shown once, nothing is new any more
    await expect(notice).to_have_count(0)
    await page.select_option("select[name=show]", "")  # all of them (the filter submits itself)
    await expect(notice).to_have_count(1)
    await expect(notice).to_have_class("m-card m-notice")

    # and in English on the same phone
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("Handoff reminders")
    await assert_fits_a_phone(page)
