"""When to remind a unit of its deadline (催办): at 09:00 local on the day that leaves N days, counted on the
task's basis (a working-day task is reminded on working days only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from inspection.domain.calendar import PACKAGE_CALENDAR, DayBasis, WorkingCalendar

REMINDER_HOUR = time(9, 0)
DEFAULT_REMINDER_DAYS = (3, 1)


def last_day(deadline: datetime, zone: ZoneInfo) -> datetime:
    """The local day a deadline ends (a deadline at midnight belongs to the day before it), as its midnight."""
    day = (deadline - timedelta(microseconds=1)).astimezone(zone).date()
    return datetime.combine(day, time(0), tzinfo=zone)


def next_reminder(
    deadline: datetime, basis: DayBasis, zone: ZoneInfo, *, after: datetime,
    reminder_days: Sequence[int] = DEFAULT_REMINDER_DAYS, calendar: WorkingCalendar = PACKAGE_CALENDAR,
) -> tuple[datetime, int] | None:
    """The first reminder strictly after ``after``, with the days it says are left; None when none is due."""
    final = last_day(deadline, zone).date()
    upcoming = []
    for wanted in reminder_days:
        for back in range(1, 3 * wanted + 30):  # holidays stretch working days; 30 covers the longest break
            day = final - timedelta(days=back)
            if basis is DayBasis.WORKING and not calendar.is_workday(day):
                continue
            left = calendar.days_left(day, final, basis)
            if left == wanted:
                moment = datetime.combine(day, REMINDER_HOUR, tzinfo=zone)
                if after < moment < deadline:
                    upcoming.append((moment, left))
                break
            if left > wanted:
                break
    return min(upcoming) if upcoming else None
