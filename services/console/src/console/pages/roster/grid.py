"""A period's roster as a people × days grid, with each person's load: pure (no I/O), from what roster answers.

Rows are the people (the cohort, and anyone a crew names who is not in it: a swap may bring one in), columns the
period's days, a cell the duties that person holds that day. Each row counts shifts, nights and weekend shifts —
the figures fairness is judged by — and the total row counts the people on duty each day and the spread between
the most and the least loaded person (the service's `max_night_spread` rule bounds the nights' spread).

A night is what roster calls one: a duty starting at or after 18:00 or running past midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

NIGHT_FROM = time(18, 0)


@dataclass(frozen=True)
class Duty:
    duty_id: str
    title: str
    night: bool


@dataclass(frozen=True)
class GridDay:
    day: date

    @property
    def weekend(self) -> bool:
        return self.day.isoweekday() >= 6


@dataclass
class GridRow:
    member_id: str
    name: str
    cells: list[list[Duty]]  # one list per day, in the grid's day order
    in_cohort: bool = True
    year_nights: int | None = None  # the service's count of this year's published nights, when it reported one

    @property
    def shifts(self) -> int:
        return sum(len(cell) for cell in self.cells)

    @property
    def nights(self) -> int:
        return sum(duty.night for cell in self.cells for duty in cell)

    def weekends(self, days: Sequence[GridDay]) -> int:
        return sum(len(cell) for cell, day in zip(self.cells, days, strict=True) if day.weekend)


@dataclass
class Grid:
    days: list[GridDay]
    rows: list[GridRow] = field(default_factory=list)

    def on_duty(self, index: int) -> int:
        """How many people hold a duty on the ``index``-th day."""
        return sum(1 for row in self.rows if row.cells[index])

    @property
    def total_shifts(self) -> int:
        return sum(row.shifts for row in self.rows)

    @property
    def total_nights(self) -> int:
        return sum(row.nights for row in self.rows)

    @property
    def total_weekends(self) -> int:
        return sum(row.weekends(self.days) for row in self.rows)

    def spread(self, figure: str) -> int:
        """Most minus least over the cohort's rows, of ``shifts``, ``nights`` or ``weekends``."""
        values = [row.weekends(self.days) if figure == "weekends" else getattr(row, figure)
                  for row in self.rows if row.in_cohort]
        return max(values) - min(values) if values else 0


def is_night(start: time, end: time) -> bool:
    return start >= NIGHT_FROM or end <= start


def _time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def duties_of(period: Mapping[str, Any]) -> dict[str, Duty]:
    """The period's duties (``GET /v1/periods/{id}``) by id, each knowing whether it is a night."""
    return {d["duty_id"]: Duty(d["duty_id"], d.get("title") or d["duty_id"],
                               is_night(_time(d["start_time"]), _time(d["end_time"])))
            for d in period.get("duties", [])}


def period_days(period: Mapping[str, Any]) -> list[GridDay]:
    first, last = date.fromisoformat(period["starts_on"]), date.fromisoformat(period["ends_on"])
    return [GridDay(first + timedelta(days=i)) for i in range((last - first).days + 1)]


def build_grid(period: Mapping[str, Any], shifts: Iterable[Mapping[str, Any]], crews: Mapping[str, Sequence[str]],
               names: Mapping[str, str], year_nights: Mapping[str, int] | None = None) -> Grid:
    """The grid of ``period`` whose ``shifts`` (``day``, ``duty_id``) are held by ``crews`` (shift id → member ids:
    a draft's assignments, or the published shifts' ``member_ids``); ``names`` by member id."""
    duties = duties_of(period)
    grid = Grid(period_days(period))
    index = {d.day: i for i, d in enumerate(grid.days)}
    cohort = list(period.get("cohort", []))
    rows: dict[str, GridRow] = {m: GridRow(m, names.get(m, m), [[] for _ in grid.days]) for m in cohort}
    for shift in shifts:
        column = index.get(date.fromisoformat(str(shift["day"])))
        if column is None:
            continue
        duty = duties.get(shift["duty_id"]) or Duty(shift["duty_id"], shift.get("title") or shift["duty_id"], False)
        for member in crews.get(shift["shift_id"], ()):
            row = rows.get(member)
            if row is None:  # on a crew but not in the cohort (brought in by a swap or an override)
                row = rows[member] = GridRow(member, names.get(member, member), [[] for _ in grid.days],
                                             in_cohort=False)
            row.cells[column].append(duty)
    for row in rows.values():
        if year_nights is not None and row.member_id in year_nights:
            row.year_nights = year_nights[row.member_id]
    grid.rows = sorted(rows.values(), key=lambda r: (not r.in_cohort, r.member_id))
    return grid
