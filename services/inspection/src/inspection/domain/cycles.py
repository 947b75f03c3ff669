"""A 211 cycle: when its phases begin and end, and what a request to open one must say.

Phases run from local midnight to local midnight in the platform's time zone: the covert phase (暗访) counts
calendar days; the rectification phase (整改) counts days on the cycle's basis, so on the working basis a
14-day rectification skips a national holiday and counts a make-up Saturday (调休).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeAlias
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inspection.domain.calendar import PACKAGE_CALENDAR, DayBasis, PlannableDate, WorkingCalendar
from inspection.domain.schema import stripped_identifier
from pingan_shared.inputs import JsonBool, non_blank, strict_int
from pingan_shared.text import StorableStr

MAX_UNITS_PER_CYCLE = 5000
MAX_NAME = 200  # a cycle's name, its successor's too

CycleId: TypeAlias = stripped_identifier(64)  # type: ignore[valid-type]
CycleName: TypeAlias = non_blank(MAX_NAME)  # type: ignore[valid-type]
Days: TypeAlias = strict_int(1, 366)  # type: ignore[valid-type]


class Phase(StrEnum):
    COVERT = "covert"
    RECTIFICATION = "rectification"
    CLOSED = "closed"


class CycleIn(BaseModel):
    """What an inspector sends to open a cycle."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: CycleId | None = Field(default=None, description="your id (retrying with it is harmless); made up if absent")
    name: CycleName = Field(description="e.g. 2026年第23期")
    start_date: PlannableDate = Field(description="local date the covert phase starts")
    covert_days: Days = 14
    rectification_days: Days = 14
    day_basis: DayBasis = DayBasis.CALENDAR
    unit_ids: list[StorableStr] = Field(min_length=1, max_length=MAX_UNITS_PER_CYCLE,
                                        description="the units in scope, each once",
                                        json_schema_extra={"uniqueItems": True})
    auto_next: JsonBool = Field(default=False, description="open the next cycle (same scope) when this one closes")

    @field_validator("unit_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a unit is listed twice")
        return value


@dataclass(frozen=True)
class Schedule:
    starts_at: datetime
    covert_ends_at: datetime
    closes_at: datetime

    def phase_at(self, now: datetime) -> Phase:
        if now >= self.closes_at:
            return Phase.CLOSED
        if now >= self.covert_ends_at:
            return Phase.RECTIFICATION
        return Phase.COVERT

    def next_change(self, phase: Phase) -> datetime | None:
        """When ``phase`` ends (None once closed)."""
        return {Phase.COVERT: self.covert_ends_at, Phase.RECTIFICATION: self.closes_at}.get(phase)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The instant a day-counted deadline falls due: the midnight that ends ``day``."""
    return local_midnight(day + timedelta(days=1), zone)


def schedule(start_date: date, covert_days: int, rectification_days: int, basis: DayBasis,
             zone: ZoneInfo, calendar: WorkingCalendar = PACKAGE_CALENDAR) -> Schedule:
    covert_end_date = start_date + timedelta(days=covert_days)
    # The rectification phase's first day is the covert phase's end date; its last is the N-th counting day.
    last_day = calendar.add_days(covert_end_date - timedelta(days=1), rectification_days, basis)
    return Schedule(
        starts_at=local_midnight(start_date, zone),
        covert_ends_at=local_midnight(covert_end_date, zone),
        closes_at=end_of_day(last_day, zone),
    )


def next_start_date(closes_at: datetime, zone: ZoneInfo) -> date:
    """The automatic successor starts the local day its predecessor closed."""
    return closes_at.astimezone(zone).date()
