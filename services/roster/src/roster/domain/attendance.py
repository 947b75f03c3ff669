"""Attendance rules, no I/O: when presence counts for a shift, when a missing member is a no-show, what a night
is, the words a supervisor reads, and how a batch of scans folds into the daily tally (a member who scanned on a
local day was on duty that day).

A shift member is *present* by an accepted patrol scan whose device time falls in the shift's presence window
(from ``early`` before the start to the end), or by an explicit check-in. With no presence by the start plus
the grace, the member is a *no-show*, once. A presence that comes in later (a late offline batch, a check-in an
organiser backfills) resolves the no-show's alert but does not undo the no-show: the record keeps both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from pingan_shared.refused import Conflict

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


class CheckInRefused(Conflict):
    """A check-in that cannot be recorded (409); the detail says why, in Chinese, and the field is the time the
    organiser gave (``body.at``) when one was given."""


def check_in_time(
    *, now: datetime, at: datetime | None, window: Window, by_organiser: bool
) -> datetime:
    """When a check-in says the member was there. A member checks in for themself, now, inside the window. An
    organiser may also record an earlier moment inside the window (a paper sign-in sheet typed in later),
    never one in the future."""
    field = "body.at" if at is not None else None
    if at is not None and not by_organiser:
        raise CheckInRefused("只有组织者可以补录签到时间 (only an organiser may give the time of a check-in)", field)
    moment = at or now
    if moment > now:
        raise CheckInRefused("签到时间不能晚于当前时间 (a check-in cannot be in the future)", field)
    if not window.holds(moment):
        raise CheckInRefused("不在该班次的签到时间内 (outside the shift's check-in window)", field)
    return moment


# --- the daily tally of scans ------------------------------------------------------------------------------

class ScanFacts(Protocol):
    """What attendance and presence read of an accepted scan (any version of the scan contract)."""

    @property
    def team_id(self) -> str: ...

    @property
    def member_id(self) -> str: ...

    @property
    def device_time(self) -> datetime: ...


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """A night patrol at 01:00 Beijing time counts for that local date, not the UTC one."""
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class AttendanceKey:
    """Whose day it is: a member id is only unique within its team (two teams' 张三 are two people)."""

    team_id: str
    member_id: str
    day: date


@dataclass
class DayTally:
    scans: int
    first: datetime
    last: datetime


def tally_scans(scans: Iterable[ScanFacts], zone: ZoneInfo) -> dict[AttendanceKey, DayTally]:
    """Fold scans into one tally per team member and local day: what a batch adds to attendance."""
    tallies: dict[AttendanceKey, DayTally] = {}
    for scan in scans:
        key = AttendanceKey(scan.team_id, scan.member_id, local_day(scan.device_time, zone))
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = DayTally(1, scan.device_time, scan.device_time)
        else:
            tally.scans += 1
            tally.first = min(tally.first, scan.device_time)
            tally.last = max(tally.last, scan.device_time)
    return tallies
