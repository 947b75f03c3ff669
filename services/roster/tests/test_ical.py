"""iCalendar feeds per member and per team, read the way a phone calendar reads them (a URL with a secret, no
bearer header) and parsed with a second library (recurring-ical-events), plus the raw RFC 5545 framing; the
feed tokens' boundaries tried from the outside: another member's feed, a wrong, rotated or revoked token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import recurring_ical_events
from icalendar import Calendar

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock

from .conftest import ZONE, Roster, local

DAY = date(2026, 11, 22)


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    harness = await roster_factory(FixedClock(local(DAY - timedelta(days=1), 9)))
    await harness.seed_members("ORG-塘下", [
        {"member_id": "M-zhang", "name": "张三", "team_id": "一队"},
        {"member_id": "M-li", "name": "李四", "team_id": "一队"},
        {"member_id": "M-wang", "name": "王五", "team_id": "二队"},
    ])
    await harness.seed_period("期-2026-47", DAY, DAY + timedelta(days=6))
    await harness.seed_shift("S-night", "期-2026-47", local(DAY, 20), local(DAY + timedelta(days=1), 2),
                             ["M-zhang", "M-li"], team_id="一队", title="塘下镇夜间巡逻", route_id="R-塘下-1")
    await harness.seed_shift("S-train", "期-2026-47", local(DAY + timedelta(days=1), 9),
                             local(DAY + timedelta(days=1), 17), ["M-zhang"], kind="training", title="白天学习训练",
                             route_id=None)
    await harness.seed_shift("S-other", "期-2026-47", local(DAY, 20), local(DAY, 23), ["M-wang"], team_id="二队",
                             kind="checkpoint", title="飞云江大桥卡点", area="飞云街道", route_id=None)
    await harness.seed_shift("S-gone", "期-2026-47", local(DAY + timedelta(days=2), 20),
                             local(DAY + timedelta(days=2), 23), ["M-zhang"], team_id="一队")
    await harness.publish_shifts(["S-night", "S-train", "S-other", "S-gone"])
    async with harness.db() as conn:
        await conn.execute("UPDATE shifts SET status = 'cancelled' WHERE shift_id = 'S-gone'")
    return harness


async def issue(roster: Roster, path: str, headers: dict[str, str]) -> str:
    answer = await roster.ok("POST", path, headers, expect=201)
    assert answer["url"] == f"/v1/calendar/feeds/{answer['token']}.ics" and len(answer["token"]) >= 43
    url: str = answer["url"]
    return url


async def fetch(roster: Roster, url: str) -> str:
    response = await roster.client.get(url)  # no Authorization: a phone calendar cannot send one
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return response.text


def events_of(text: str) -> dict[str, Any]:
    """The feed as the second library sees it: every event (recurring-ical-events expands the calendar between
    two dates, by its own reading of DTSTART/DTEND and their time zone)."""
    calendar = Calendar.from_ical(text)
    found = recurring_ical_events.of(calendar).between(datetime(2026, 11, 1, tzinfo=ZONE),
                                                       datetime(2026, 12, 31, tzinfo=ZONE))
    return {str(e["UID"]): e for e in found}


def assert_rfc5545_framing(text: str) -> None:
    raw = text.encode()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")  # every line ends CRLF
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded at 75 octets (UTF-8 kept whole)
    unfolded = text.replace("\r\n ", "")
    lines = unfolded.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and "VERSION:2.0" in lines and any(x.startswith("PRODID:") for x in lines)
    assert "BEGIN:VTIMEZONE" in lines and "TZID:Asia/Shanghai" in lines


async def test_a_members_feed_parses_with_a_second_library_and_holds_their_shifts(roster: Roster) -> None:
    url = await issue(roster, "/v1/calendar/members/M-zhang/feed", roster.member("M-zhang"))
    text = await fetch(roster, url)
    assert_rfc5545_framing(text)
    events = events_of(text)
    assert sorted(events) == ["S-gone@roster.pingan", "S-night@roster.pingan", "S-train@roster.pingan"]
    night = events["S-night@roster.pingan"]
    assert night["DTSTART"].dt == local(DAY, 20) and str(night["DTSTART"].dt.tzinfo) == "Asia/Shanghai"
    assert night["DTEND"].dt == local(DAY + timedelta(days=1), 2)
    assert str(night["SUMMARY"]) == "道路巡逻：塘下镇夜间巡逻"
    assert str(night["LOCATION"]) == "塘下镇 · 路线 R-塘下-1"
    assert str(night["STATUS"]) == "CONFIRMED" and "DTSTAMP" in night
    assert str(events["S-train@roster.pingan"]["SUMMARY"]) == "白天学习训练"
    assert str(events["S-gone@roster.pingan"]["STATUS"]) == "CANCELLED"  # the phone removes it
    assert "DTSTART;TZID=Asia/Shanghai:20261122T200000" in text.replace("\r\n ", "")
    # the same bytes until the roster changes; a change keeps the UID and moves DTSTAMP
    assert await fetch(roster, url) == text
    roster.clock.advance(timedelta(hours=1))
    async with roster.db() as conn:
        await conn.execute("UPDATE shifts SET starts_at = starts_at + interval '1 hour', updated_at = $1 "
                           "WHERE shift_id = 'S-night'", roster.clock.now())
    moved = events_of(await fetch(roster, url))["S-night@roster.pingan"]
    assert moved["DTSTART"].dt == local(DAY, 21) and moved["DTSTAMP"].dt > night["DTSTAMP"].dt


async def test_a_team_feed_holds_the_teams_shifts_with_who_is_on_them(roster: Roster) -> None:
    url = await issue(roster, "/v1/calendar/teams/一队/feed", roster.organiser)
    events = events_of(await fetch(roster, url))
    assert sorted(events) == ["S-gone@roster.pingan", "S-night@roster.pingan", "S-train@roster.pingan"]
    assert "人员：张三、李四" in str(events["S-night@roster.pingan"]["DESCRIPTION"])
    other = events_of(await fetch(roster, await issue(roster, "/v1/calendar/teams/二队/feed", roster.admin)))
    assert list(other) == ["S-other@roster.pingan"]
    assert str(other["S-other@roster.pingan"]["LOCATION"]) == "飞云街道"


async def test_feed_tokens_from_the_outside(roster: Roster) -> None:
    zhang = roster.member("M-zhang")
    # another member may neither make nor revoke 张三's feed, nor any team's
    for method in ("POST", "DELETE"):
        refused = await roster.client.request(method, "/v1/calendar/members/M-zhang/feed",
                                              headers=roster.member("M-li"))
        assert refused.status_code == 403 and "token" not in refused.json()
    assert (await roster.client.post("/v1/calendar/teams/一队/feed", headers=zhang)).status_code == 403
    device = roster.auth(Role.PATROL_DEVICE, "device-1", team="一队")
    assert (await roster.client.post("/v1/calendar/teams/一队/feed", headers=device)).status_code == 403
    assert (await roster.client.post("/v1/calendar/members/M-zhang/feed")).status_code == 401
    assert (await roster.client.post("/v1/calendar/members/M-nobody/feed", headers=roster.organiser)).status_code == 404
    assert (await roster.client.post("/v1/calendar/teams/三队/feed", headers=roster.organiser)).status_code == 404

    first = await issue(roster, "/v1/calendar/members/M-zhang/feed", zhang)
    # a guessed token, a tampered one, and the right one with a bearer of someone else (ignored) or none
    for wrong in ("/v1/calendar/feeds/" + "A" * 43 + ".ics", first[:-6] + "x.ics"):
        missing = await roster.client.get(wrong)
        assert missing.status_code == 404 and "BEGIN:VCALENDAR" not in missing.text
    assert (await roster.client.get(first, headers=roster.member("M-li"))).status_code == 200
    # rotating (a new link) ends the old one; revoking ends the new one; revoking again is a 404
    second = await issue(roster, "/v1/calendar/members/M-zhang/feed", roster.organiser)
    assert (await roster.client.get(first)).status_code == 404
    assert (await roster.client.get(second)).status_code == 200
    assert (await roster.client.delete("/v1/calendar/members/M-zhang/feed", headers=zhang)).status_code == 204
    assert (await roster.client.get(second)).status_code == 404
    assert (await roster.client.delete("/v1/calendar/members/M-zhang/feed", headers=zhang)).status_code == 404
    async with roster.db() as conn:
        stored = await conn.fetch("SELECT token_sha256 FROM feed_tokens")
    tokens = {first.split("/")[-1][:-4], second.split("/")[-1][:-4]}
    assert len(stored) == 2 and not any(t.encode() in bytes(r["token_sha256"]) for r in stored for t in tokens)


def test_a_calendar_name_with_a_line_break_is_escaped_text() -> None:
    # a member's name is any non-blank text: a line break in it once made the feed a 500
    from roster.ical import calendar

    body = calendar("张\n三的值班", [], ZONE, with_people=False)
    assert b"X-WR-CALNAME:\xe5\xbc\xa0\\n\xe4\xb8\x89" in body
    assert body.count(b"\n") == body.count(b"\r\n")  # no bare line break inside a content line
    assert "x-wr-calname" in Calendar.from_ical(body)
