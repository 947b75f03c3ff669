"""Programmes, periods (期), their rules and duties, and the shifts a duty makes on the period's days. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pingan_shared.events.roster_contracts import DutyKind
from roster.domain.members import Day, Id, MemberRole, Name64, Place, Skill, Text

MAX_PERIOD_DAYS = 366
# A night duty: starts at or after 18:00, or runs past midnight.
NIGHT_FROM = time(18, 0)


class Level(StrEnum):
    CITY = "city"  # 市级
    TOWNSHIP = "township"  # 乡镇


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    programme_id: Id
    name: Text = Field(description="e.g. 瑞安市轮值轮训")
    level: Level
    area: Place | None = None


class PeriodRules(BaseModel):
    """The period's hard limits and soft weights. Rest: a member whose duty ends less than ``min_rest_hours``
    before their next day's duty starts may not take both (a night patrol to 07:00 is not followed by 08:00
    training)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_rest_hours: int = Field(default=10, ge=0, le=48)
    max_consecutive_nights: int | None = Field(default=3, ge=1, le=MAX_PERIOD_DAYS)
    max_duties_per_week: int | None = Field(default=6, ge=1, le=7)
    max_duties_per_period: int | None = Field(default=None, ge=1, le=MAX_PERIOD_DAYS)
    min_days_off_in_row: int | None = Field(default=None, ge=1, le=14)
    max_night_spread: int | None = Field(default=1, ge=0, le=MAX_PERIOD_DAYS,
                                         description="hard: this period's nights per member differ by at most this")
    fairness_weight: int = Field(default=10, ge=0, le=1000,
                                 description="weight of the spread of cumulative nights (this and past periods)")
    stability_weight: int = Field(default=100, ge=0, le=10000, description="cost of each change when re-planning")


class PeriodIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period_id: Id
    name: Text = Field(description="e.g. 第263期")
    starts_on: Day
    days: int = Field(ge=1, le=MAX_PERIOD_DAYS, description="the period's length, e.g. 28")
    cohort: list[Id] = Field(default_factory=list, max_length=2000, description="member ids")
    rules: PeriodRules = Field(default_factory=PeriodRules)

    @property
    def ends_on(self) -> date:
        return self.starts_on + timedelta(days=self.days - 1)


RoleCount = Annotated[int, Field(ge=0, le=500)]


class CompositionIn(BaseModel):
    """Who a duty's crew is made of: e.g. at least one police officer and three civilians, no more than half
    from one organisation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_by_role: dict[MemberRole, RoleCount] = Field(default_factory=dict, description="e.g. {\"police\": 1}")
    max_by_role: dict[MemberRole, RoleCount] = Field(default_factory=dict)
    min_civilians: int | None = Field(default=None, ge=0, le=500, description="members who are not police")
    max_share_per_org: float | None = Field(default=None, ge=0.05, le=1,
                                            description="e.g. 0.5: no more than half from one organisation")

    def share(self) -> Fraction | None:
        return None if self.max_share_per_org is None else Fraction(self.max_share_per_org).limit_denominator(20)


class DutyIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    duty_id: Id
    kind: DutyKind
    title: Text = Field(description="e.g. 塘下镇夜间巡逻")
    area: Place | None = Field(default=None, description=(
        "a place of the directory: its code, or a place's unique name (塘下镇), kept as the code"))
    route_id: Name64 | None = None
    team_id: Name64 | None = Field(default=None, description=(
        "the team that walks it, an organisation of the directory (a patrol team, company, militia or police "
        "station): its code, or its unique name, kept as the code"))
    start_time: time = Field(description="local time, e.g. 19:00 (an offset, if sent, is ignored)")
    end_time: time = Field(description="local; not later than start_time: ends the next day")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default=[1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7, description="ISO weekdays it runs on (1 = Monday)")
    required_size: int = Field(ge=1, le=500)
    composition: CompositionIn = Field(default_factory=CompositionIn)
    required_skills: list[Skill] = Field(default_factory=list, max_length=20)

    @field_validator("start_time", "end_time")
    @classmethod
    def _local(cls, value: time) -> time:
        return value.replace(tzinfo=None)  # a duty's times are local wall-clock times

    @property
    def night(self) -> bool:
        return is_night(self.start_time, self.end_time)


def is_night(start: time, end: time) -> bool:
    return start >= NIGHT_FROM or end <= start


@dataclass(frozen=True)
class ShiftSlot:
    """One occurrence of a duty on a local day."""

    shift_id: str
    day: date
    starts_at: datetime
    ends_at: datetime


# A shift id is ``<period>:<duty>@<day>``: a duty's id is its period's own, so the period keeps two periods' `night`
# apart (shifts made before duty ids were per period kept ``<duty>@<day>``). patrol names a shift's rounds
# ``shift:<shift id>@<UTC start>`` in events that hold 100 characters: a shift id may have at most 77.
MAX_SHIFT_ID = 77


def shift_id(period_id: str, duty_id: str, day: date) -> str:
    return f"{period_id}:{duty_id}@{day.isoformat()}"


def period_days(starts_on: date, ends_on: date) -> list[date]:
    return [starts_on + timedelta(days=i) for i in range((ends_on - starts_on).days + 1)]


def shift_slots(period_id: str, duty_id: str, start: time, end: time, weekdays: list[int], starts_on: date,
                ends_on: date, zone: ZoneInfo) -> list[ShiftSlot]:
    """The duty's shifts: one per period day on one of its weekdays, in local time (a night ends next day)."""
    slots = []
    for day in period_days(starts_on, ends_on):
        if day.isoweekday() not in weekdays:
            continue
        begins = datetime.combine(day, start, zone)
        finishes = datetime.combine(day + timedelta(days=1) if end <= start else day, end, zone)
        slots.append(ShiftSlot(shift_id(period_id, duty_id, day), day, begins, finishes))
    return slots
