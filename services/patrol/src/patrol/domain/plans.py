"""What a patrol plan is: a team walks a route in a local window (e.g. 20:00–02:00 Asia/Shanghai, across
midnight) on each date of a span, in rounds every N minutes or N rounds a night, with a start grace and a
per-checkpoint grace. No I/O: windows, round slots and clashes are computed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from pingan_shared.text import StorableStr

MAX_PLAN_DAYS = 366
MAX_ROUNDS_PER_NIGHT = 96


def _local_time(schema: dict[str, Any]) -> None:
    """A local time as sent: HH:MM or HH:MM:SS, no offset (the plan's timezone applies).

    Not JSON Schema's ``format: time``, which pydantic writes for a ``time``: that is RFC 3339's full-time, whose
    offset is required, so the schema would admit nothing a client may send (and a generator spends seconds
    looking for a value both the pattern and the format admit).
    """
    schema.pop("format", None)
    schema["pattern"] = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$"



class PlanIn(BaseModel):
    """A patrol plan as an organiser posts it."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: StorableStr = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    team_id: StorableStr = Field(min_length=1, max_length=64)
    route_id: StorableStr = Field(min_length=1, max_length=100)
    first_date: date
    last_date: date | None = Field(default=None, description="defaults to first_date (one night)")
    window_start: time = Field(description="local time, e.g. 20:00", json_schema_extra=_local_time)
    window_end: time = Field(description="local time; earlier than window_start means the next day (02:00)",
                             json_schema_extra=_local_time)
    timezone: StorableStr = Field(default="Asia/Shanghai", max_length=64)
    every_minutes: int | None = Field(default=None, ge=5, le=24 * 60, description="a round starts every N minutes")
    rounds_per_night: int | None = Field(default=None, ge=1, le=MAX_ROUNDS_PER_NIGHT, validate_default=True,
                                         description="or N rounds evenly over the window")
    start_grace_minutes: int = Field(default=15, ge=0, le=12 * 60)
    checkpoint_grace_minutes: int = Field(default=10, ge=0, le=12 * 60,
                                          description="how long after a round's slot a scan still counts for it")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("window_start", "window_end")
    @classmethod
    def _naive_local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time without an offset (the plan's timezone applies)")
        return value

    # Cross-field rules are field validators on the later field, so that a 422 names the field at fault.
    @field_validator("last_date")
    @classmethod
    def _span(cls, value: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get("first_date")
        if value is not None and first is not None:
            if value < first:
                raise ValueError("must not be before first_date")
            if (value - first).days >= MAX_PLAN_DAYS:
                raise ValueError(f"a plan spans at most {MAX_PLAN_DAYS} days")
        return value

    @field_validator("window_end")
    @classmethod
    def _has_length(cls, value: time, info: ValidationInfo) -> time:
        if value == info.data.get("window_start"):
            raise ValueError("must differ from window_start: a window needs a length")
        return value

    @field_validator("every_minutes")
    @classmethod
    def _fits(cls, value: int | None, info: ValidationInfo) -> int | None:
        start, end = info.data.get("window_start"), info.data.get("window_end")
        if value is not None and start is not None and end is not None and value > window_minutes(start, end):
            raise ValueError("longer than the window: no round would fit")
        return value

    @field_validator("rounds_per_night")
    @classmethod
    def _one_frequency(cls, value: int | None, info: ValidationInfo) -> int | None:
        if (value is None) == (info.data.get("every_minutes") is None) and "every_minutes" in info.data:
            raise ValueError("give exactly one of every_minutes and rounds_per_night")
        return value



def window_minutes(start: time, end: time) -> int:
    """Minutes from ``start`` to ``end`` (the next day when ``end`` is earlier)."""
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    return minutes % (24 * 60) or 24 * 60


@dataclass(frozen=True)
class Plan:
    id: str
    team_id: str
    route_id: str
    first_date: date
    last_date: date
    window_start: time
    window_end: time
    timezone: str
    every_minutes: int | None
    rounds_per_night: int | None
    start_grace: timedelta
    checkpoint_grace: timedelta
    shift_id: str | None = None

    @classmethod
    def from_input(cls, plan: PlanIn, *, shift_id: str | None = None) -> Plan:
        return cls(plan.id, plan.team_id, plan.route_id, plan.first_date, plan.last_date or plan.first_date,
                   plan.window_start, plan.window_end, plan.timezone, plan.every_minutes, plan.rounds_per_night,
                   timedelta(minutes=plan.start_grace_minutes), timedelta(minutes=plan.checkpoint_grace_minutes),
                   shift_id)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def window_on(self, night: date) -> tuple[datetime, datetime]:
        """The window of the night that starts on local date ``night``, as UTC instants."""
        start = datetime.combine(night, self.window_start, self.zone)
        end_day = night if self.window_end > self.window_start else night + timedelta(days=1)
        end = datetime.combine(end_day, self.window_end, self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def nights(self) -> Iterable[date]:
        night = self.first_date
        while night <= self.last_date:
            yield night
            night += timedelta(days=1)

    def windows(self) -> list[tuple[datetime, datetime]]:
        return [self.window_on(night) for night in self.nights()]

    @property
    def covers(self) -> tuple[datetime, datetime]:
        return self.window_on(self.first_date)[0], self.window_on(self.last_date)[1]

    def slots(self, night: date) -> list[RoundSlot]:
        """The rounds expected on ``night``: back-to-back slots filling the window."""
        start, end = self.window_on(night)
        if self.rounds_per_night is not None:
            count = self.rounds_per_night
            step = (end - start) / count
        else:
            assert self.every_minutes is not None
            step = timedelta(minutes=self.every_minutes)
            count = max(1, int((end - start) / step))
        return [RoundSlot(night, start + i * step, start + (i + 1) * step, self.start_grace, self.checkpoint_grace)
                for i in range(count)]

    def slots_between(self, since: datetime, until: datetime) -> list[RoundSlot]:
        """Every slot whose round closes after ``since`` and starts before ``until`` (the materialising horizon)."""
        found: list[RoundSlot] = []
        for night in self.nights():
            window_start, window_end = self.window_on(night)
            if window_start >= until:
                break
            if window_end + self.checkpoint_grace <= since:
                continue
            found.extend(s for s in self.slots(night) if s.starts_at < until and s.closes_at > since)
        return found


@dataclass(frozen=True)
class RoundSlot:
    night: date
    starts_at: datetime
    ends_at: datetime
    start_grace: timedelta
    checkpoint_grace: timedelta

    @property
    def start_due_at(self) -> datetime:
        return self.starts_at + self.start_grace

    @property
    def closes_at(self) -> datetime:
        return self.ends_at + self.checkpoint_grace

    def round_id(self, plan_id: str) -> str:
        return f"{plan_id}@{self.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def first_clash(
    windows: Sequence[tuple[datetime, datetime]], others: Sequence[tuple[datetime, datetime]]
) -> tuple[datetime, datetime] | None:
    """The first window of ``windows`` that overlaps one of ``others`` (both sorted by start), or None."""
    j = 0
    for start, end in windows:
        while j < len(others) and others[j][1] <= start:
            j += 1
        if j < len(others) and others[j][0] < end:
            return start, end
    return None
