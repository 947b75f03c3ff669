"""How deadlines count days: calendar days, or Chinese working days (工作日).

Working days follow the State Council's yearly holiday arrangement: national holidays are off, and the official
make-up workdays (调休, often a Saturday or Sunday) are on. The arrangement comes from ``chinese-calendar``,
which knows each year once it is published; for a year it does not know yet (the arrangement is announced late
in the year before) weekends are off and weekdays on, and ``provisional`` says so.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

import chinese_calendar
from pydantic import AfterValidator

FIRST_PLANNABLE = date(2000, 1, 1)
LAST_PLANNABLE = date(2099, 12, 31)


def _plannable(day: date) -> date:
    if not FIRST_PLANNABLE <= day <= LAST_PLANNABLE:
        raise ValueError(f"须在 {FIRST_PLANNABLE} 与 {LAST_PLANNABLE} 之间 (a date this calendar can plan with)")
    return day


# A date a cycle or deadline may name: far enough from date.min/max that adding phases can never overflow.
PlannableDate = Annotated[date, AfterValidator(_plannable)]


class DayBasis(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year whose arrangement is not published (or not in this package) yet
        return day.weekday() < 5


def provisional(day: date) -> bool:
    """True when ``day``'s year has no published holiday arrangement here: counts are weekday-only."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return True
    return False


def add_days(start: date, days: int, basis: DayBasis) -> date:
    """The day ``days`` days after ``start`` — counting only working days on the working basis, so the result
    is the ``days``-th working day after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    if basis is DayBasis.CALENDAR:
        return start + timedelta(days=days)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return day


def days_left(today: date, last_day: date, basis: DayBasis) -> int:
    """Days from ``today`` (exclusive) through ``last_day`` (inclusive) that count on ``basis``: what a
    reminder (催办) says is left. Zero on the last day itself or after it."""
    if last_day <= today:
        return 0
    if basis is DayBasis.CALENDAR:
        return (last_day - today).days
    return sum(1 for n in range(1, (last_day - today).days + 1) if is_workday(today + timedelta(days=n)))
