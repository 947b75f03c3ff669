"""The member's pages against the console in-process (httpx, cookies kept) over the city: roster and the others
really running, a roster published through roster's API. My shifts (order, today, the English switch, CSV), who
may open what, the calendar link (made, fetched through the console without a session, replaced, stopped), swap
requests (roster's refusal under the field it names, the typed values kept; sent, withdrawn), check-in (roster
judges the window) with the crew's presence, and the handoff reminders (newest first, unread until shown).

The tests share one city and its clock, which only moves forward: they run in this file's order (the module is
one unit of work, ``browser``-marked so its city starts once on one worker — pingan_stack.test_schedule)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_stack.test_databases import TestDatabases

from .city import City, running_city
from .conftest import ORIGIN, Browser
from .member_support import CONSOLE_SETTINGS, START, publish_member_roster, shift_path, until

pytestmark = pytest.mark.browser

POLICE, ME, SPARE, AWAY = "TXP01", "TXA01", "TXB01", "TXC01"


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str) -> AsyncIterator[City]:
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(START),
                            **CONSOLE_SETTINGS) as running:
        await running.add_account("li.xl", "member", display_name="李巡逻", member_id=ME)
        await running.add_account("wang.xl", "member", display_name="王巡逻", member_id=SPARE)
        await running.add_account("ping.org", "organiser", display_name="平安办")
        yield running


@pytest.fixture(scope="module")
async def shifts(city: City) -> list[dict[str, Any]]:
    return await publish_member_roster(city, period_id="M1", police=POLICE, member=ME, spare=SPARE, away=AWAY)


async def signed_in(city: City, username: str, address: str = "192.0.2.80") -> Browser:
    browser = Browser(city.services["console"].app, address=address, origin=ORIGIN)
    answer = await browser.sign_in(username)
    assert answer.status_code == 303, answer.text[:300]
    return browser


def field_errors(html: str, field: str) -> list[str]:
    found = re.search(rf'<ul class="field-errors" id="e-{field}">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


def csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


async def move_to(city: City, moment: datetime) -> None:
    if city.clock.now() < moment:
        await city.advance_to(moment)


async def test_my_shifts_list_the_next_first_today_marked_in_both_languages_and_as_csv(
        city: City, shifts: list[dict[str, Any]]) -> None:
    li = await signed_in(city, "li.xl")
    try:
        page = await li.get("/me/shifts")
        assert page.status_code == 200, page.text[:500]
        html = page.text
        days = re.findall(r"<strong>(2026-12-\d\d) 周.</strong>", html)
        assert days == ["2026-12-07", "2026-12-08", "2026-12-09"]
        assert html.count("m-card m-shift m-today") == 1 and html.count(">今天<") == 1
        for words in ("塘下镇夜间巡逻", "19:00–23:00", "道路巡逻", "塘下镇", "韩田村巡逻一队（测试）", "R-1"):
            assert words in html, words
        for shift in shifts:
            assert f'href="{shift_path(shift["shift_id"])}"' in html.replace("&#34;", '"')
        # the member's menu: its own section, nothing of another role
        assert "我的值班" in html and 'href="/me/calendar"' in html and "/admin/accounts" not in html

        exported = await li.get("/me/shifts?format=csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = csv_rows(exported.text)
        assert rows[0][:4] == ["日期 Date", "星期 Weekday", "时间 Hours", "勤务 Duty"]
        assert [r[0] for r in rows[1:]] == ["2026-12-07", "2026-12-08", "2026-12-09"]
        assert rows[1][1:6] == ["周一", "19:00–23:00", "道路巡逻", "塘下镇夜间巡逻", "塘下镇"]
        past = await li.get("/me/shifts?when=past")
        assert "m-shift" not in past.text and "暂无数据" in past.text

        assert (await li.get("/lang/en?next=/me/shifts")).status_code in (302, 303, 307)
        english = (await li.get("/me/shifts")).text
        for words in ("My shifts", ">Today<", "road patrol", "2026-12-07 Mon", "Upcoming", "Export CSV"):
            assert words in english, words
    finally:
        await li.close()


async def test_only_a_member_opens_these_pages_and_only_its_own_shifts(
        city: City, shifts: list[dict[str, Any]]) -> None:
    mine = shift_path(shifts[0]["shift_id"])
    organiser = await signed_in(city, "ping.org", "192.0.2.81")
    colleague = await signed_in(city, "wang.xl", "192.0.2.82")  # on no shift
    stranger = Browser(city.services["console"].app, address="192.0.2.83", origin=ORIGIN)
    try:
        assert (await organiser.get("/me/shifts")).status_code == 403
        away = await stranger.get("/me/shifts")
        assert away.status_code == 303 and away.headers["location"].startswith("/signin")
        # another's shift answers exactly as one never made: the same 404 page
        theirs = await colleague.get(mine)
        never = await colleague.get(shift_path("M1:night@2031-01-01"))
        assert theirs.status_code == never.status_code == 404
        assert "没有该班次" in theirs.text and "塘下镇夜间巡逻" not in theirs.text
        tried = await colleague.submit(f"{mine}/check-in", {}, page="/me/shifts")
        assert tried.status_code == 404
        assert (await colleague.post(f"{mine}/check-in", data={})).status_code == 403  # no CSRF token
        assert "m-shift" not in (await colleague.get("/me/shifts")).text
    finally:
        for browser in (organiser, colleague, stranger):
            await browser.close()


async def test_a_calendar_link_is_shown_once_fetched_through_the_console_replaced_and_stopped(
        city: City, shifts: list[dict[str, Any]]) -> None:
    li = await signed_in(city, "li.xl", "192.0.2.84")
    phone = Browser(city.services["console"].app, address="192.0.2.85", origin=None)  # a calendar app: no session
    try:
        made = await li.submit("/me/calendar", {})
        assert made.status_code == 201, made.text[:500]
        url = re.search(r'value="(http://console\.test/calendar/feeds/[A-Za-z0-9_-]+\.ics)"', made.text)
        assert url, made.text
        path = url.group(1).removeprefix("http://console.test")
        assert f'href="webcal://console.test{path}"' in made.text and 'data-copy="#m-feed-url"' in made.text
        feed = await phone.get(path)
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        assert "BEGIN:VCALENDAR" in feed.text and "塘下镇夜间巡逻" in feed.text
        uids = set(re.findall(r"UID:(.+?)\r?\n", feed.text.replace("\r\n ", "")))
        assert {f"{s['shift_id']}@roster.pingan" for s in shifts} <= uids
        assert path not in (await li.get("/me/calendar")).text  # shown once, never again

        again = await li.submit("/me/calendar", {})
        new_path = re.search(r"/calendar/feeds/[A-Za-z0-9_-]+\.ics", again.text)
        assert new_path and new_path.group(0) != path
        assert (await phone.get(path)).status_code == 404  # the old link stopped
        assert (await phone.get(new_path.group(0))).status_code == 200

        stopped = await li.submit("/me/calendar/revocation", {}, page="/me/calendar")
        assert stopped.status_code == 303
        assert "订阅链接已停用" in (await li.get(stopped.headers["location"])).text
        assert (await phone.get(new_path.group(0))).status_code == 404
        nothing = await li.submit("/me/calendar/revocation", {}, page="/me/calendar")
        assert nothing.status_code == 404 and "form-errors" in nothing.text
    finally:
        await li.close()
        await phone.close()


async def test_a_swap_refused_shows_why_under_the_colleague_keeps_the_typing_and_a_good_one_is_sent(
        city: City, shifts: list[dict[str, Any]]) -> None:
    second, third = shifts[1]["shift_id"], shifts[2]["shift_id"]
    li = await signed_in(city, "li.xl", "192.0.2.86")
    try:
        form = await li.get(f"/me/swaps/new?shift_id={second}")
        assert form.status_code == 200
        assert len(re.findall(r'<option value="M1:night@', form.text)) == 3
        assert f'<option value="{POLICE}">' in form.text  # a colleague to suggest

        refused = await li.submit("/me/swaps/new", {"shift_id": second, "to_member_id": AWAY, "note": "家中有事"})
        assert refused.status_code == 409
        [reason] = field_errors(refused.text, "to_member_id")
        assert "出差" in reason and "(" in reason  # roster's words, Chinese first and the English gist
        assert f'value="{AWAY}"' in refused.text and ">家中有事</textarea>" in refused.text
        assert f'<option value="{second}" selected>' in refused.text

        unchosen = await li.submit("/me/swaps/new", {"shift_id": "", "to_member_id": SPARE})
        assert unchosen.status_code == 422 and field_errors(unchosen.text, "shift_id")

        sent = await li.submit("/me/swaps/new", {"shift_id": second, "to_member_id": SPARE, "note": "家中有事"})
        assert sent.status_code == 303 and sent.headers["location"] == "/me/swaps?done=sent"
        listed = (await li.get(sent.headers["location"])).text
        assert "调班申请已提交" in listed and "待审批" in listed and SPARE in listed and "家中有事" in listed
        twice = await li.submit("/me/swaps/new", {"shift_id": second, "to_member_id": SPARE})
        assert twice.status_code == 409 and "待审批" in "".join(field_errors(twice.text, "shift_id"))

        request_id = re.search(r'action="/me/swaps/([^/"]+)/withdrawal"', listed)
        assert request_id
        withdrawn = await li.submit(f"/me/swaps/{request_id.group(1)}/withdrawal", {}, page="/me/swaps")
        assert withdrawn.status_code == 303
        after = (await li.get("/me/swaps")).text
        assert "已撤回" in after and "/withdrawal" not in after
        assert "m-swap" not in (await li.get("/me/swaps?status=pending")).text

        open_request = await li.submit("/me/swaps/new", {"shift_id": third, "note": "出差"})
        assert open_request.status_code == 303
        rows = csv_rows((await li.get("/me/swaps?format=csv")).text)
        assert {(r[7], r[3], r[5]) for r in rows[1:]} == {(second, SPARE, "已撤回"), (third, "公开申请", "待审批")}
        assert {r[1] for r in rows[1:]} == {"2026-12-08 周二 19:00–23:00 塘下镇夜间巡逻",
                                           "2026-12-09 周三 19:00–23:00 塘下镇夜间巡逻"}
        assert re.match(r"2026-12-07 09:\d\d$", rows[1][0])  # asked at, in local time
    finally:
        await li.close()


async def test_check_in_is_judged_by_roster_and_the_shift_shows_its_crew_and_its_reminder(
        city: City, shifts: list[dict[str, Any]]) -> None:
    first = shifts[0]["shift_id"]
    page_path = shift_path(first)
    li = await signed_in(city, "li.xl", "192.0.2.87")
    try:
        early = await li.submit(f"{page_path}/check-in", {}, page=page_path)
        assert early.status_code == 409 and "不在该班次的签到时间内" in early.text
        before = (await li.get(page_path)).text
        assert before.count("未签到") == 2 and "张警官" in before and "李巡逻" in before
        assert "暂无交接提醒" in before

        # 18:30: the reminder went at 17:00, check-in opened at 18:00
        await move_to(city, datetime.fromisoformat(shifts[0]["starts_at"]) - timedelta(minutes=30))

        async def reminded() -> bool:
            return bool((await city.call("roster", "GET", "/v1/me/notices", city.token(Role.MEMBER, ME)))["items"])

        await until(reminded, "the handoff reminder of the first night")
        done = await li.submit(f"{page_path}/check-in", {}, page=page_path)
        assert done.status_code == 303 and done.headers["location"].endswith("?done=checked_in")
        shown = (await li.get(done.headers["location"])).text
        assert "签到成功" in shown and "已到岗 12-07 18:30（签到）" in shown and shown.count("未签到") == 1
        assert "交接班提醒：12月7日19:00开始塘下镇夜间巡逻" in shown
        again = await li.submit(f"{page_path}/check-in", {}, page=page_path)
        assert again.headers["location"].endswith("?done=again")
        assert "您已签到过" in (await li.get(again.headers["location"])).text
    finally:
        await li.close()


async def test_handoff_reminders_newest_first_unread_until_shown(city: City, shifts: list[dict[str, Any]]) -> None:
    second_start = datetime.fromisoformat(shifts[1]["starts_at"]).astimezone(UTC)
    await move_to(city, second_start - timedelta(minutes=90))  # the second night's reminder is out too

    async def both() -> bool:
        return len((await city.call("roster", "GET", "/v1/me/notices", city.token(Role.MEMBER, ME)))["items"]) == 2

    await until(both, "both nights' reminders")
    li = await signed_in(city, "li.xl", "192.0.2.88")
    try:
        assert "<strong>2</strong> 条未读交接提醒" in (await li.get("/me/shifts")).text
        page = await li.get("/me/notices")
        texts = re.findall(r'<p class="m-text">(.*?)</p>', page.text)
        assert [t[:16] for t in texts] == ["交接班提醒：12月8日19:00", "交接班提醒：12月7日19:00"]
        assert page.text.count("m-card m-notice m-unread-item") == 2
        assert "pingan_notices_seen" in page.headers.get("set-cookie", "")
        read = await li.get("/me/notices")
        assert "m-unread-item" not in read.text and len(re.findall(r'class="m-text"', read.text)) == 2
        assert "m-text" not in (await li.get("/me/notices?show=unread")).text
        assert "未读交接提醒" not in (await li.get("/me/shifts")).text
        rows = csv_rows((await li.get("/me/notices?format=csv")).text)
        assert [r[2] for r in rows[1:]] == [shifts[1]["shift_id"], shifts[0]["shift_id"]]
    finally:
        await li.close()
