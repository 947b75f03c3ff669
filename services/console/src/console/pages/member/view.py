"""What a member's pages show, from what roster answers: a shift as the person reads it (local date and weekday,
the hours, the duty, the place, the team; whether it is today, running or over), shifts in the order a volunteer
wants them (the next one first), notices newest first with the unread ones marked. Pure: no I/O, no web types, so
the rules are tested on their own (tests/test_member_rules.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

# roster's duty kinds, in the words its calendar feed uses (roster.ical.DUTY_NAMES), and in English
DUTY_KINDS: Mapping[str, tuple[str, str]] = {
    "training": ("白天学习训练", "day training"),
    "road-patrol": ("道路巡逻", "road patrol"),
    "checkpoint": ("设卡盘查", "checkpoint"),
    "fire-check": ("消防检查", "fire check"),
    "migrant-registration": ("流口登记", "migrant registration"),
    "foot-patrol": ("步行巡逻", "foot patrol"),
}
WEEKDAYS: Sequence[tuple[str, str]] = (("周一", "Mon"), ("周二", "Tue"), ("周三", "Wed"), ("周四", "Thu"),
                                       ("周五", "Fri"), ("周六", "Sat"), ("周日", "Sun"))


class When(StrEnum):
    """Which of a member's shifts a list shows."""

    UPCOMING = "upcoming"  # not ended yet (the one running now included), the soonest first
    PAST = "past"  # ended, the latest first


class Phase(StrEnum):
    AHEAD = "ahead"
    RUNNING = "running"
    OVER = "over"


@dataclass(frozen=True)
class ShiftView:
    shift_id: str
    period_id: str
    kind: str
    title: str
    place: str  # the area's name from the directory, else its code
    route_id: str | None
    team: str  # the team's name, else its code
    starts_at: datetime  # local
    ends_at: datetime  # local
    status: str  # published / cancelled
    crew: Sequence[str]
    today: bool
    phase: Phase

    @property
    def day(self) -> date:
        return self.starts_at.date()

    @property
    def href(self) -> str:
        return shift_href(self.shift_id)

    @property
    def overnight(self) -> bool:
        return self.ends_at.date() > self.starts_at.date()

    def weekday(self, lang: str) -> str:
        zh, en = WEEKDAYS[self.day.weekday()]
        return en if lang == "en" else zh

    def hours(self, lang: str) -> str:
        """``19:00–23:00``; a duty past midnight: ``20:00–次日02:00``."""
        end = self.ends_at.strftime("%H:%M")
        if self.overnight:
            end = ("next day " if lang == "en" else "次日") + end
        return f"{self.starts_at.strftime('%H:%M')}–{end}"

    def label(self, lang: str) -> str:
        """The shift in one line: ``2026-12-08 周二 19:00–23:00 塘下镇夜间巡逻``."""
        return f"{self.day.isoformat()} {self.weekday(lang)} {self.hours(lang)} {self.title}"

    def duty(self, lang: str) -> str:
        pair = DUTY_KINDS.get(self.kind)
        return (pair[1] if lang == "en" else pair[0]) if pair else self.kind


def shift_href(shift_id: str) -> str:
    """The console's page of a shift: the id is one path segment (``期-1:night@2026-12-07``), so every reserved
    character is escaped."""
    return f"/me/shifts/{quote(shift_id, safe='')}"


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def local_time(value: Any, zone: ZoneInfo) -> str:
    """An instant of roster's answers as local ``YYYY-MM-DD HH:MM`` (empty for none)."""
    return "" if value in (None, "") else _instant(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def shift_view(row: Mapping[str, Any], zone: ZoneInfo, now: datetime) -> ShiftView:
    """A shift of roster's answer (``GET /v1/shifts`` item) as the member reads it at ``now``."""
    starts, ends = _instant(row["starts_at"]), _instant(row["ends_at"])
    phase = Phase.AHEAD if now < starts else Phase.RUNNING if now < ends else Phase.OVER
    local_now = now.astimezone(zone)
    return ShiftView(
        shift_id=str(row["shift_id"]), period_id=str(row.get("period_id") or ""), kind=str(row.get("kind") or ""),
        title=str(row.get("title") or ""), place=str(row.get("area_name") or row.get("area") or ""),
        route_id=row.get("route_id"), team=str(row.get("team_name") or row.get("team_id") or ""),
        starts_at=starts.astimezone(zone), ends_at=ends.astimezone(zone), status=str(row.get("status") or ""),
        crew=list(row.get("member_ids") or []), today=starts.astimezone(zone).date() == local_now.date(), phase=phase)


def ordered(shifts: Iterable[ShiftView], when: When) -> list[ShiftView]:
    """Upcoming: those not over, the soonest first (the running one leads); past: those over, the latest first."""
    if when is When.UPCOMING:
        return sorted((s for s in shifts if s.phase is not Phase.OVER), key=lambda s: (s.starts_at, s.shift_id))
    return sorted((s for s in shifts if s.phase is Phase.OVER), key=lambda s: (s.starts_at, s.shift_id),
                  reverse=True)


def day_range(when: When, now: datetime, zone: ZoneInfo) -> tuple[date | None, date | None]:
    """The local days to ask roster for (``day_from``, ``day_to``): a shift of yesterday may still run tonight, and
    one of today may be over already; ``ordered`` then sorts them by their actual hours."""
    today = now.astimezone(zone).date()
    if when is When.UPCOMING:
        return today - timedelta(days=1), None
    return None, today


def checkable(shift: ShiftView) -> bool:
    """Whether the page offers to check in: a published shift not over (roster judges the window itself)."""
    return shift.status == "published" and shift.phase is not Phase.OVER


def swappable(shift: ShiftView) -> bool:
    """Whether the swap form offers the shift: published and not started (roster refuses a started one)."""
    return shift.status == "published" and shift.phase is Phase.AHEAD


def colleagues(shifts: Iterable[ShiftView], me: str) -> list[str]:
    """The member ids the person has served with: the swap form's suggestions (a member cannot list members)."""
    return sorted({m for s in shifts for m in s.crew if m != me})


def presence_words(row: Mapping[str, Any], lang: str, zone: ZoneInfo) -> str:
    """A crew member's presence (a row of roster's ``/presence``) in words: present since when and how (and whether
    a no-show had been recorded first), a no-show, or not checked in yet."""
    present, no_show = row.get("present_at"), row.get("no_show_at")
    by_check_in = row.get("source") == "check-in"
    if present:
        at = _instant(present).astimezone(zone).strftime("%m-%d %H:%M")
        if lang == "en":
            how = "check-in" if by_check_in else "patrol scan"
            return f"present {at} ({how}{', after a no-show' if no_show else ''})"
        how = "签到" if by_check_in else "巡逻扫码"
        return f"已到岗 {at}（{how}{'，曾记未到岗' if no_show else ''}）"
    if no_show:
        return "no-show" if lang == "en" else "未到岗"
    return "not checked in" if lang == "en" else "未签到"


@dataclass(frozen=True)
class NoticeView:
    id: int
    shift_id: str
    kind: str
    text: str
    created_at: datetime  # local
    unread: bool

    @property
    def shift_href(self) -> str:
        return shift_href(self.shift_id)


def notice_views(rows: Iterable[Mapping[str, Any]], zone: ZoneInfo, seen_up_to: int) -> list[NoticeView]:
    """roster's notices (oldest first, as it pages them) newest first; those after ``seen_up_to`` are unread."""
    views = [NoticeView(id=int(r["id"]), shift_id=str(r["shift_id"]), kind=str(r.get("kind") or ""),
                        text=str(r.get("text") or ""), created_at=_instant(r["created_at"]).astimezone(zone),
                        unread=int(r["id"]) > seen_up_to) for r in rows]
    return sorted(views, key=lambda n: n.id, reverse=True)


# --- which notices this browser has shown the member -------------------------------------------------------------
# roster keeps no read state (a notice is a note for the member, nothing acts on it), so the console remembers the
# newest notice a member was shown in a cookie: "<member id>:<notice id>". Another member signing in on the same
# phone starts from nothing read; the cookie says nothing secret (notice ids are only counters).

def seen_cookie(member_id: str, newest: int) -> str:
    return f"{quote(member_id, safe='')}:{newest}"


def seen_up_to(cookie: str | None, member_id: str) -> int:
    """The newest notice id ``member_id`` was shown, from the cookie; 0 when none (or another member's)."""
    if not cookie or ":" not in cookie:
        return 0
    owner, _, newest = cookie.rpartition(":")
    if owner != quote(member_id, safe="") or not newest.isdigit():
        return 0
    return int(newest)


def page_of(items: Sequence[Any], limit: int, after: str | None) -> tuple[list[Any], str | None]:
    """One page of a list the console holds whole (a member's shifts, its notices: tens, not thousands), by
    offset: the table's ``after`` is the index of the page's first row."""
    start = int(after) if after and after.isdigit() else 0
    chunk = list(items[start:start + limit])
    return chunk, (str(start + limit) if start + limit < len(items) else None)
