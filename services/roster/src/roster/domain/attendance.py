"""Attendance rules, no I/O: when presence counts for a shift, when a missing member is a no-show, what a night
is, and the words a supervisor reads.

A shift member is *present* by an accepted patrol scan whose device time falls in the shift's presence window
(from ``early`` before the start to the end), or by an explicit check-in. With no presence by the start plus
the grace, the member is a *no-show*, once. A presence that comes in later (a late offline batch, a check-in an
organiser backfills) resolves the no-show's alert but does not undo the no-show: the record keeps both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

NO_SHOW_KIND = "roster.no-show"  # the alert signal's kind: selects the escalation policy at alerts

# A night duty starts in the evening or in the small hours (local time): 夜间巡逻 from 18:00, or a checkpoint
# that starts after midnight. Day training and the 08:00–22:00 foot patrol are day duties.
NIGHT_FROM = time(18, 0)
NIGHT_UNTIL = time(6, 0)


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime

    def holds(self, moment: datetime) -> bool:
        return self.opens <= moment <= self.closes


def presence_window(starts_at: datetime, ends_at: datetime, *, early: timedelta) -> Window:
    """When a scan or a check-in counts as presence on a shift: from ``early`` before its start to its end."""
    return Window(starts_at - early, ends_at)


def grace_until(starts_at: datetime, grace: timedelta) -> datetime:
    """When a member with no presence becomes a no-show."""
    return starts_at + grace


def is_night(starts_at: datetime, zone: ZoneInfo) -> bool:
    local = starts_at.astimezone(zone).time()
    return local >= NIGHT_FROM or local < NIGHT_UNTIL


def check_key(shift_id: str, member_id: str) -> str:
    """The durable timer's key of one member's presence check on one shift (unambiguous whatever the ids hold)."""
    return json.dumps([shift_id, member_id], ensure_ascii=False)


def no_show_dedup_key(shift_id: str, member_id: str) -> str:
    return f"roster:shift:{shift_id}:no-show:{member_id}"


def no_show_summary(*, title: str, starts_at: datetime, zone: ZoneInfo, member_name: str, area: str | None) -> str:
    """塘下镇夜间巡逻 11月22日 20:00 未到岗：张三（塘下镇）"""
    local = starts_at.astimezone(zone)
    where = f"（{area}）" if area else ""
    return f"{title} {local.month}月{local.day}日 {local:%H:%M} 未到岗：{member_name}{where}"[:500]


class CheckInRefused(Exception):
    """A check-in that cannot be recorded; the message says why, in Chinese."""


def check_in_time(
    *, now: datetime, at: datetime | None, window: Window, by_organiser: bool
) -> datetime:
    """When a check-in says the member was there. A member checks in for themself, now, inside the window. An
    organiser may also record an earlier moment inside the window (a paper sign-in sheet typed in later),
    never one in the future."""
    if at is not None and not by_organiser:
        raise CheckInRefused("只有组织者可以补录签到时间 (only an organiser may give the time of a check-in)")
    moment = at or now
    if moment > now:
        raise CheckInRefused("签到时间不能晚于当前时间 (a check-in cannot be in the future)")
    if not window.holds(moment):
        raise CheckInRefused("不在该班次的签到时间内 (outside the shift's check-in window)")
    return moment
