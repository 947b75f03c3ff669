"""What the member's pages make of roster's answers (console.pages.member.view), without any server: a shift's
phase and day, its hours across midnight, the order of upcoming and past shifts, which days to ask roster for,
presence in words, notices newest first with the unread ones, the cookie that remembers them, paging."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from console.pages.member.view import (
    Phase,
    When,
    checkable,
    colleagues,
    day_range,
    notice_views,
    ordered,
    page_of,
    presence_words,
    seen_cookie,
    seen_up_to,
    shift_href,
    shift_view,
    swappable,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)  # Monday 18:30 local


def row(shift_id: str, start: datetime, hours: float, **extra: object) -> dict[str, object]:
    return {"shift_id": shift_id, "period_id": "M1", "kind": "road-patrol", "title": "塘下镇夜间巡逻",
            "area": "330381102000", "area_name": "塘下镇", "route_id": "R-1", "team_id": "一队", "team_name": None,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
            "status": "published", "member_ids": ["TXA01", "TXP01"], **extra}


def test_a_shift_reads_in_local_time_with_its_phase_and_whether_it_is_today() -> None:
    tonight = shift_view(row("a", datetime(2026, 12, 7, 11, 0, tzinfo=UTC), 4), ZONE, NOW)
    assert (tonight.day, tonight.hours("zh"), tonight.weekday("zh"), tonight.weekday("en")) == (
        date(2026, 12, 7), "19:00–23:00", "周一", "Mon")
    assert tonight.today and tonight.phase is Phase.AHEAD and tonight.place == "塘下镇" and tonight.team == "一队"
    assert (tonight.duty("zh"), tonight.duty("en")) == ("道路巡逻", "road patrol")
    late = shift_view(row("b", datetime(2026, 12, 6, 12, 0, tzinfo=UTC), 6), ZONE, NOW)  # 20:00–02:00
    assert late.hours("zh") == "20:00–次日02:00" and late.hours("en") == "20:00–next day 02:00"
    assert late.phase is Phase.OVER and not late.today
    running = shift_view(row("c", NOW - timedelta(hours=1), 2), ZONE, NOW)
    assert running.phase is Phase.RUNNING and checkable(running) and not swappable(running)
    assert swappable(tonight) and not checkable(late)
    cancelled = shift_view(row("d", NOW + timedelta(days=1), 2, status="cancelled"), ZONE, NOW)
    assert not checkable(cancelled) and not swappable(cancelled)
    # a day boundary in Shanghai, not in UTC: 00:30 local on the 8th is not today
    assert not shift_view(row("e", datetime(2026, 12, 7, 16, 30, tzinfo=UTC), 2), ZONE, NOW).today


def test_upcoming_shifts_come_soonest_first_and_past_ones_latest_first() -> None:
    views = [shift_view(row(i, NOW + timedelta(hours=h), 2), ZONE, NOW)
             for i, h in (("z-later", 30), ("a-running", -1), ("m-over", -5), ("b-tonight", 1), ("y-old", -50))]
    assert [v.shift_id for v in ordered(views, When.UPCOMING)] == ["a-running", "b-tonight", "z-later"]
    assert [v.shift_id for v in ordered(views, When.PAST)] == ["m-over", "y-old"]
    # roster is asked for yesterday on (a night from yesterday may still run) or up to today
    assert day_range(When.UPCOMING, NOW, ZONE) == (date(2026, 12, 6), None)
    assert day_range(When.PAST, NOW, ZONE) == (None, date(2026, 12, 7))
    assert colleagues(views, "TXA01") == ["TXP01"]


def test_presence_in_words_in_both_languages() -> None:
    checked = {"member_id": "TXA01", "present_at": "2026-12-07T10:40:00+00:00", "source": "check-in"}
    assert presence_words(checked, "zh", ZONE) == "已到岗 12-07 18:40（签到）"
    assert presence_words(checked, "en", ZONE) == "present 12-07 18:40 (check-in)"
    late_scan = {"present_at": "2026-12-07T12:00:00+00:00", "source": "scan", "no_show_at": "2026-12-07T11:30:00Z"}
    assert presence_words(late_scan, "zh", ZONE) == "已到岗 12-07 20:00（巡逻扫码，曾记未到岗）"
    assert presence_words({"no_show_at": "2026-12-07T11:30:00Z"}, "zh", ZONE) == "未到岗"
    assert presence_words({}, "en", ZONE) == "not checked in"


def test_notices_newest_first_and_unread_after_the_last_one_shown() -> None:
    rows = [{"id": i, "shift_id": f"s{i}", "kind": "handoff", "text": f"提醒{i}",
             "created_at": (NOW + timedelta(hours=i)).isoformat()} for i in (3, 7, 9)]
    views = notice_views(rows, ZONE, seen_up_to=7)
    assert [(n.id, n.unread) for n in views] == [(9, True), (7, False), (3, False)]
    assert views[0].created_at.tzinfo == ZONE and views[0].shift_href == "/me/shifts/s9"


def test_the_seen_cookie_belongs_to_one_member() -> None:
    cookie = seen_cookie("期:队员 1", 42)
    assert seen_up_to(cookie, "期:队员 1") == 42
    assert seen_up_to(cookie, "TXA01") == 0  # another member on the same phone starts unread
    for broken in (None, "", "42", "TXA01:", "TXA01:x", ":5"):
        assert seen_up_to(broken, "TXA01") == 0


def test_pages_by_offset_and_shift_links_escape_the_id() -> None:
    items = list(range(45))
    assert page_of(items, 20, None) == (list(range(20)), "20")
    assert page_of(items, 20, "40") == ([40, 41, 42, 43, 44], None)
    assert page_of(items, 20, "junk") == (list(range(20)), "20")
    assert shift_href("期-1:night@2026-12-07") == "/me/shifts/%E6%9C%9F-1%3Anight%402026-12-07"
    assert shift_href("a/../b?c#d") == "/me/shifts/a%2F..%2Fb%3Fc%23d"
