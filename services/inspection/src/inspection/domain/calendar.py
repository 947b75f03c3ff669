"""How deadlines count days: calendar days, or Chinese working days (工作日).

Working days follow the State Council's yearly holiday arrangement (国务院办公厅关于某年部分节假日安排的通知): national
holidays are off, and the official make-up workdays (调休, often a Saturday or Sunday) are on. ``WorkingCalendar``
knows a year from what an operator loaded for it (``working_days``: the notice as data), else from
``chinese-calendar`` (which knows each year its release has seen). For a year neither knows (the arrangement is
announced late in the year before) weekends are off and weekdays on, and a deadline counted through such a year is
``provisional``: it is counted again when the year is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class YearArrangement:
    """One year's notice: the days off that would be workdays (放假), the days on that would be weekends (调休上班)."""

    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_workday(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days: the loaded years' notices first, then the package's, then weekdays (provisional).
    ``WorkingCalendar()`` is the package's alone."""

    loaded: Mapping[int, YearArrangement] = field(default_factory=dict)

    def knows(self, year: int) -> bool:
        return year in self.loaded or _package_knows(year)

    def is_workday(self, day: date) -> bool:
        arrangement = self.loaded.get(day.year)
        if arrangement is not None:
            return arrangement.is_workday(day)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # a year whose arrangement is not published (or not in this package) yet
            return day.weekday() < 5

    def provisional(self, first: date, last: date, basis: DayBasis) -> bool:
        """Whether a count over ``first``..``last`` on ``basis`` went through a year this calendar does not know."""
        return basis is DayBasis.WORKING and not all(self.knows(y) for y in range(first.year, last.year + 1))

    def add_days(self, start: date, days: int, basis: DayBasis) -> date:
        """The day ``days`` days after ``start`` — counting only working days on the working basis, so the result
        is the ``days``-th working day after ``start`` (``start`` itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        if basis is DayBasis.CALENDAR:
            return start + timedelta(days=days)
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def days_left(self, today: date, last_day: date, basis: DayBasis) -> int:
        """Days from ``today`` (exclusive) through ``last_day`` (inclusive) that count on ``basis``: what a
        reminder (催办) says is left. Zero on the last day itself or after it."""
        if last_day <= today:
            return 0
        if basis is DayBasis.CALENDAR:
            return (last_day - today).days
        return sum(1 for n in range(1, (last_day - today).days + 1) if self.is_workday(today + timedelta(days=n)))


PACKAGE_CALENDAR = WorkingCalendar()


# The package's calendar, for what has no loaded years at hand (a rule that needs them takes a WorkingCalendar).
def is_workday(day: date) -> bool:
    return PACKAGE_CALENDAR.is_workday(day)


def add_days(start: date, days: int, basis: DayBasis) -> date:
    return PACKAGE_CALENDAR.add_days(start, days, basis)


def days_left(today: date, last_day: date, basis: DayBasis) -> int:
    return PACKAGE_CALENDAR.days_left(today, last_day, basis)
