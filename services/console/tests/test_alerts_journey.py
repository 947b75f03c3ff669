"""The supervisor's and the operator's work in Chromium through the whole city.

A township supervisor (塘下镇) signs in and watches the inbox; the grid platform raises an alert for the township
through the alerts API; the unread badge goes up without a reload (the console relays alerts' stream). They open
the alert, see its ladder and timeline; an hour on the ladder reaches the summons (约谈), which both officials must
acknowledge: they acknowledge, the second from their own session, and it is acknowledged; they resolve it and make
a silence. A supervisor of another township finds it neither listed nor at its address. The admin sees every
service ready, a dead letter of a receiver that never answered listed and re-sent, and a parked outbox row listed
and handed back."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.messaging.outbox import enqueue
from pingan_stack.browser_testing import ContextFactory
from pingan_stack.test_databases import TestDatabases
from pingan_stack.testing import eventually, sample_factory, sample_scan_event

from .alerts_stage import ANYANG, KIND, TANGXIA, closed_port_url
from .city import SERVICES, City, running_city, sign_in

pytestmark = pytest.mark.browser
START = datetime(2026, 7, 14, 1, 0, tzinfo=UTC)  # 09:00 in 瑞安
SUMMARY = "韩田村网格事件超时未处置：河道漂浮物堵塞"


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str) -> AsyncIterator[City]:
    # the journey moves the shared clock hours on (a ladder's delay, delivery backoffs): sessions outlast that
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(START), session_idle_minutes=24 * 60,
                            session_absolute_hours=48) as running:
        await running.add_account("zhou.sup", "supervisor", display_name="周镇平安办", scope=TANGXIA)
        await running.add_account("wu.sup", "supervisor", display_name="吴镇分管领导", scope=TANGXIA)
        await running.add_account("chen.sup", "supervisor", display_name="陈街道平安办", scope=ANYANG)
        await running.add_account("ops", "admin", display_name="运维值班员")
        admin = running.token(Role.ADMIN, "setup")
        for name in ("zhou.sup", "wu.sup"):
            await running.call("alerts", "PUT", f"/v1/contacts/person:{name}", admin,
                               json={"display_name": name, "subject": name})
        await running.call("alerts", "PUT", f"/v1/contacts/role:township-supervisor:{TANGXIA}", admin,
                           json={"display_name": "塘下镇平安办", "members": ["person:zhou.sup", "person:wu.sup"]})
        await running.call("alerts", "POST", "/v1/policies", admin, json={
            "name": "网格事件督办", "kind": KIND, "steps": [
                {"label": "通报", "delay_seconds": 0, "targets": ["role:township-supervisor:{township}"],
                 "channels": ["inbox", "stream"]},
                {"label": "约谈", "delay_seconds": 3600, "targets": ["person:zhou.sup", "person:wu.sup"],
                 "channels": ["inbox", "stream"], "requires_all_acks": True, "ack_timeout_seconds": 86400}]})
        yield running


async def _attempted(read: Callable[[], Awaitable[tuple[int, str]]], before: tuple[int, str]) -> bool:
    """The webhook message was tried once more and its result is written (due again, or failed for good)."""
    attempts, status = await read()
    return attempts > before[0] and status in ("pending", "failed")


async def later(city: City, delta: timedelta) -> None:
    await city.advance_to(city.clock.now() + delta)


async def test_a_supervisor_follows_an_alert_from_the_badge_to_its_resolution(
    city: City, page: Page, new_context: ContextFactory,
) -> None:
    await sign_in(page, city, "zhou.sup")
    await page.goto(f"{city.url}/alerts/inbox")
    badge = page.locator("#unread-badge")
    await expect(badge).to_have_attribute("data-count", "0")  # the relay is open and has counted

    answer = await city.call("alerts", "POST", "/v1/events", city.token(Role.INTEGRATION, "grid"), json={
        "action": "trigger", "dedup_key": "grid:ev-0714-01", "kind": KIND, "severity": "high", "place": TANGXIA,
        "summary": SUMMARY, "source": {"service": "grid", "entity_type": "event", "entity_id": "ev-0714-01"},
        "occurred_at": city.clock.now().isoformat()})
    alert_id = answer["alert_id"]
    await later(city, timedelta(seconds=3))  # the delivery worker's bundling window on the services' clock
    await expect(badge).to_have_text("1", timeout=15_000)  # no reload: the relayed stream moved it
    await expect(page.locator("#live-note")).to_be_visible()

    await page.click("#live-note a")
    await page.click(f"a[href='/alerts/{alert_id}']")
    await expect(page.locator("h1")).to_have_text(SUMMARY)
    await expect(page.locator(".step-current")).to_contain_text("1. 通报")
    await expect(page.locator(".step-current .told")).to_contain_text("person:zhou.sup")
    await expect(page.locator("table.timeline")).to_contain_text("触发")

    # an hour on, the ladder reaches the summons by itself: both officials must acknowledge
    await later(city, timedelta(hours=1, seconds=1))

    async def summoned() -> bool:
        alert = await city.call("alerts", "GET", f"/v1/alerts/{alert_id}", city.token(Role.ADMIN))
        return bool(alert["current_step"] == 1)
    await eventually(summoned, timeout=15, what="the summons step fired")
    await page.reload()
    await expect(page.locator(".step-current")).to_contain_text("2. 约谈")
    await page.click("text=确认收到")
    await expect(page.locator(".notice")).to_contain_text("仍在等待其他人确认")
    await expect(page.locator("ul.waiting")).to_have_text("person:wu.sup")
    await expect(page.locator("ul.acked")).to_contain_text("supervisor:zhou.sup")

    second = await (await new_context()).new_page()
    await sign_in(second, city, "wu.sup")
    await second.goto(f"{city.url}/alerts/{alert_id}")
    await second.click("text=确认收到")
    await expect(second.locator(".notice")).to_contain_text("已确认")
    await expect(second.locator("#alert-status")).to_have_text("已确认")

    await page.reload()
    await expect(page.locator("ul.waiting")).to_contain_text("全部已确认")
    await page.fill("#f-reason", "漂浮物已清理，河道畅通")
    await page.click("text=关闭预警")
    await expect(page.locator(".notice")).to_contain_text("预警已关闭")
    await expect(page.locator("table.timeline")).to_contain_text("漂浮物已清理，河道畅通")

    await page.goto(f"{city.url}/alerts/silences")
    await expect(page.locator("#f-place")).to_have_value(TANGXIA)
    await page.fill("#f-reason", "台风“海葵”过境，暂停督办通知")
    await page.click("text=创建静默期")
    await expect(page.locator(".notice")).to_contain_text("静默期已创建")
    await expect(page.locator("table.data")).to_contain_text("台风“海葵”过境，暂停督办通知")

    other = await (await new_context()).new_page()
    await sign_in(other, city, "chen.sup")
    await other.goto(f"{city.url}/alerts?status=resolved")
    await expect(other.locator("table.data")).not_to_contain_text(SUMMARY)
    missing = await other.goto(f"{city.url}/alerts/{alert_id}")
    assert missing is not None and missing.status == 404
    await expect(other.locator("main")).not_to_contain_text(SUMMARY)


async def test_the_admin_sees_readiness_resends_a_dead_letter_and_hands_back_a_parked_row(
    city: City, page: Page,
) -> None:
    # a receiver that never answers, for an alert in 安阳街道 (塘下镇's silence, made above, holds that township's)
    admin = city.token(Role.ADMIN, "setup")
    await city.call("alerts", "PUT", "/v1/contacts/unit:塘下镇值班室", admin, json={
        "display_name": "塘下镇值班室", "webhook_url": closed_port_url() + "/hook",
        "webhook_secrets": ["journey-webhook-secret-01"]})
    await city.call("alerts", "POST", "/v1/policies", admin, json={
        "name": "网格推送", "kind": "grid.push", "steps": [
            {"label": "推送", "delay_seconds": 0, "targets": ["unit:塘下镇值班室"], "channels": ["webhook"]}]})
    await city.call("alerts", "POST", "/v1/events", city.token(Role.INTEGRATION, "grid"), json={
        "action": "trigger", "dedup_key": "grid:push-1", "kind": "grid.push", "severity": "medium",
        "place": ANYANG, "summary": "网格推送测试", "occurred_at": city.clock.now().isoformat(),
        "source": {"service": "grid", "entity_type": "event", "entity_id": "push-1"}})
    pool = city.services["alerts"].runtime.pool
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [("bad topic / with spaces", sample_scan_event(sample_factory(""), "一队", 1)[1])])

    async def dead_letters() -> list[object]:
        letters = await city.call("alerts", "GET", "/v1/deliveries/dead-letters", city.token(Role.ADMIN))
        items: list[object] = letters["items"]
        return items

    async def attempts() -> tuple[int, str]:
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT attempts, status FROM delivery_messages WHERE channel = 'webhook'")
        return (row["attempts"], row["status"]) if row else (0, "")

    # each retry waits its backoff on the services' clock: move it on, attempt by attempt, until the last has failed
    for _ in range(10):
        before = await attempts()
        if before[1] == "failed":
            break
        await later(city, timedelta(minutes=20))
        await eventually(functools.partial(_attempted, attempts, before), timeout=10, what="the next attempt")
    assert await dead_letters(), "the webhook's message was dead-lettered"

    await sign_in(page, city, "ops")
    await page.goto(f"{city.url}/admin/services")
    for name in SERVICES:
        await expect(page.locator("table.data")).to_contain_text(name)
    await expect(page.locator("table.data .tag-good", has_text="就绪")).to_have_count(len(SERVICES))

    await page.goto(f"{city.url}/admin/dead-letters")
    await expect(page.locator("table.data")).to_contain_text("unit:塘下镇值班室")
    await page.click("table.data button:has-text('重发')")
    await expect(page.locator(".notice")).to_contain_text("已重发")
    await page.goto(f"{city.url}/admin/dead-letters?status=resent")
    await expect(page.locator("table.data")).to_contain_text("admin:ops")

    await page.goto(f"{city.url}/admin/operations")
    await expect(page.locator("tr[data-service='alerts']")).to_contain_text("1")
    await page.click("tr[data-service='alerts'] a[href*='outbox']")
    await expect(page.locator("table.data")).to_contain_text("bad topic / with spaces")
    await expect(page.locator("table.data")).to_contain_text("InvalidTopic")
    await page.click("table.data button:has-text('重试')")
    await expect(page.locator(".notice")).to_contain_text("已交回重试")
