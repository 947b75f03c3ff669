"""How deadlines count days: calendar days, or Chinese working days (工作日).

Working days follow the State Council's yearly holiday arrangement: national holidays are off, and the official
make-up workdays (调休, often a Saturday or Sunday) are on. The arrangement comes from ``chinese-calendar``,
which knows each year once it is published; for a year it does not know yet (the arrangement is announced late
in the year before) weekends are off and weekdays on, and ``provisional`` says so.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import chinese_calendar
from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

FIRST_PLANNABLE = date(2000, 1, 1)
LAST_PLANNABLE = date(2099, 12, 31)


def _plannable(day: date) -> date:
    if not FIRST_PLANNABLE <= day <= LAST_PLANNABLE:
        raise ValueError(f"须在 {FIRST_PLANNABLE} 与 {LAST_PLANNABLE} 之间 (a date this calendar can plan with)")
    return day


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_as_documented(value: object) -> object:
    # The schema says a date, YYYY-MM-DD; lax mode would also read 946684800 or "946684800" as a Unix time and
    # "2026-01-01T00:00:00" as a day.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


class _PlannableInSchema:
    """The JSON Schema of a ``PlannableDate`` states its range: a year 20xx (what the validator enforces)."""

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        schema["pattern"] = r"^20[0-9]{2}-"
        return schema


# A date a cycle or deadline may name: far enough from date.min/max that adding phases can never overflow.
PlannableDate = Annotated[date, BeforeValidator(_date_as_documented), AfterValidator(_plannable), _PlannableInSchema()]


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
