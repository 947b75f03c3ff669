"""iCalendar feeds of shifts, per member and per team, for phone calendars (subscribed by URL).

Phone calendars (iOS, Android, Outlook) subscribe to a URL and poll it; they cannot send a bearer header. A feed
is therefore reached by an unguessable secret in its URL (``/v1/calendar/feeds/<token>.ics``): 32 random bytes,
made by a member for themself or by an organiser, shown once, stored only as its SHA-256, one live token per
member or team. Making a new one revokes the old (a leaked link is replaced), and a token can be revoked outright;
a wrong or revoked token is a 404 that says nothing about whether it ever existed.

The calendar: one VEVENT per shift, UID ``<shift id>@roster.pingan`` (stable: a shift changed by a swap or re-plan
updates the phone's event, never duplicates it), DTSTAMP and LAST-MODIFIED from the shift's last change (the
feed is the same bytes until the roster changes), times in Asia/Shanghai (PINGAN_TIMEZONE) with its VTIMEZONE,
SUMMARY in Chinese (duty and title), LOCATION the area and route, STATUS CANCELLED for a cancelled shift (so the
phone removes it) and CONFIRMED otherwise.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from icalendar import Calendar, Event, Timezone, vText

from pingan_shared.refused import NotFound
from roster import places
from roster.context import RosterContext
from roster.store import feeds as store

PRODID = "-//Pingan//roster//ZH"
UID_DOMAIN = "roster.pingan"
# How far back a feed reaches (recent shifts stay visible); forward it holds every shift published.
FEED_HISTORY = timedelta(days=90)

DUTY_NAMES = {
    "training": "白天学习训练",
    "road-patrol": "道路巡逻",
    "checkpoint": "设卡盘查",
    "fire-check": "消防检查",
    "migrant-registration": "流口登记",
    "foot-patrol": "步行巡逻",
}


class Owner(StrEnum):
    MEMBER = "member"
    TEAM = "team"


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def feed_path(token: str) -> str:
    return f"/v1/calendar/feeds/{token}.ics"


NO_FEED = {Owner.MEMBER: "该队员没有有效的日历订阅 (no live feed)",
           Owner.TEAM: "该队伍没有有效的日历订阅 (no live feed)"}


async def issue_token(conn: asyncpg.Connection, ctx: RosterContext, owner: Owner, owner_id: str, *, by: str) -> str:
    """A new feed token for the member or team, revoking the one it had: the only time the token is shown. An
    unknown member (or a team no member or shift names) is refused."""
    if owner is Owner.MEMBER and await store.member_name(conn, owner_id) is None:
        raise NotFound("没有这个队员 (no such member)")
    if owner is Owner.TEAM and not await store.team_known(conn, owner_id):
        raise NotFound("没有这个队伍 (no such team)")
    token = new_token()
    now = ctx.now()
    await store.revoke(conn, owner.value, owner_id, at=now)
    await store.insert(conn, token_digest(token), owner.value, owner_id, created_at=now, created_by=by)
    return token


async def revoke_token(conn: asyncpg.Connection, ctx: RosterContext, owner: Owner, owner_id: str) -> None:
    """Revoke the live token of the member or team (refused when it has none)."""
    if not await store.revoke(conn, owner.value, owner_id, at=ctx.now()):
        raise NotFound(NO_FEED[owner])


async def feed_for_token(conn: asyncpg.Connection, ctx: RosterContext, token: str) -> bytes:
    """The calendar a live token opens; a wrong or revoked one is not found (saying nothing of whether it ever
    existed)."""
    found = await store.owner_of(conn, token_digest(token))
    if found is None:
        raise NotFound("日历订阅不存在或已失效 (no such feed)")
    owner, owner_id = Owner(found["owner_kind"]), found["owner_id"]
    since = ctx.now() - FEED_HISTORY
    if owner is Owner.MEMBER:
        name = await store.member_name(conn, owner_id) or owner_id
        shifts = await store.member_shifts(conn, owner_id, since=since)
        title = f"{name}的值班"
    else:
        shifts = await store.team_shifts(conn, owner_id, since=since)
        title = f"{owner_id}值班表"
    return calendar(title, await places.named(conn, shifts), ctx.zone, with_people=owner is Owner.TEAM)


def summary(shift: Mapping[str, Any]) -> str:
    duty = DUTY_NAMES.get(shift["kind"], shift["kind"])
    return shift["title"] if duty in shift["title"] else f"{duty}：{shift['title']}"


def location(shift: Mapping[str, Any]) -> str | None:
    parts = [shift.get("area_name") or shift["area"], f"路线 {shift['route_id']}" if shift["route_id"] else None]
    text = " · ".join(p for p in parts if p)
    return text or None


def calendar(title: str, shifts: Iterable[Mapping[str, Any]], zone: ZoneInfo, *, with_people: bool) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(title))  # escaped as text: a name may hold a line break
    cal.add("x-wr-timezone", zone.key)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    cal.add_component(Timezone.from_tzid(zone.key))  # also in a feed with no event yet
    for shift in shifts:
        event = Event()
        event.add("uid", f"{shift['shift_id']}@{UID_DOMAIN}")
        changed = shift["updated_at"].astimezone(UTC)
        event.add("dtstamp", changed)
        event.add("last-modified", changed)
        event.add("dtstart", shift["starts_at"].astimezone(zone))
        event.add("dtend", shift["ends_at"].astimezone(zone))
        event.add("summary", summary(shift))
        where = location(shift)
        if where:
            event.add("location", where)
        details = [f"期：{shift['period_name']}"]
        if shift["team_id"]:
            details.append(f"队伍：{shift['team_id']}")
        if with_people and shift["people"]:
            details.append("人员：" + "、".join(shift["people"]))
        event.add("description", "\n".join(details))
        event.add("status", "CANCELLED" if shift["status"] == "cancelled" else "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()
