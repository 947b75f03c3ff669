"""Curtois/Qu shift-scheduling instances (schedulingbenchmarks.org text format), every section, and their
mapping onto ``roster.solver`` rules.

The mapping is one-to-one with the instance definition: at most one shift a day (always so in the solver);
``cannot follow`` → ``ForbiddenSuccession``; MaxShifts per type → ``ShiftCount``; min/max total minutes →
``TotalMinutes``; max/min consecutive shifts → ``MaxConsecutive`` / ``MinConsecutive``; min consecutive days
off → ``MinConsecutiveDaysOff``; max weekends → ``MaxWeekends``; days off → ``Unavailable``; on/off requests →
``Request``; cover → soft ``Cover`` with its under/over weights. Day 0 is a Monday.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roster.solver.model import (
    Cover,
    ForbiddenSuccession,
    Horizon,
    MaxConsecutive,
    MaxWeekends,
    MinConsecutive,
    MinConsecutiveDaysOff,
    Person,
    Problem,
    Request,
    Rule,
    ShiftCount,
    ShiftType,
    TotalMinutes,
    Unavailable,
)


@dataclass(frozen=True)
class NrpShift:
    id: str
    minutes: int
    cannot_follow: tuple[str, ...]
    """Shifts that may not be worked the day after this one."""


@dataclass(frozen=True)
class NrpStaff:
    id: str
    max_shifts: dict[str, int]
    max_total_minutes: int
    min_total_minutes: int
    max_consecutive_shifts: int
    min_consecutive_shifts: int
    min_consecutive_days_off: int
    max_weekends: int


@dataclass(frozen=True)
class NrpRequest:
    staff: str
    day: int
    shift: str
    weight: int


@dataclass(frozen=True)
class NrpCover:
    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int


@dataclass(frozen=True)
class Instance:
    name: str
    horizon: int
    shifts: tuple[NrpShift, ...]
    staff: tuple[NrpStaff, ...]
    days_off: dict[str, tuple[int, ...]]
    on_requests: tuple[NrpRequest, ...]
    off_requests: tuple[NrpRequest, ...]
    cover: tuple[NrpCover, ...]


class NrpFormatError(ValueError):
    pass


def _sections(text: str) -> dict[str, list[list[str]]]:
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("SECTION_"):
            current = sections.setdefault(line, [])
            continue
        if current is None:
            raise NrpFormatError(f"line {number}: data before any SECTION_ header")
        current.append([field.strip() for field in line.split(",")])
    return sections


def parse(text: str, name: str = "") -> Instance:
    sections = _sections(text)
    try:
        horizon = int(sections["SECTION_HORIZON"][0][0])
        shifts = tuple(
            NrpShift(row[0], int(row[1]), tuple(s for s in (row[2] if len(row) > 2 else "").split("|") if s))
            for row in sections.get("SECTION_SHIFTS", [])
        )
        staff = []
        for row in sections.get("SECTION_STAFF", []):
            max_shifts = {}
            for part in row[1].split("|"):
                if part:
                    shift, value = part.split("=")
                    max_shifts[shift.strip()] = int(value)
            staff.append(
                NrpStaff(row[0], max_shifts, int(row[2]), int(row[3]), int(row[4]), int(row[5]), int(row[6]),
                         int(row[7]))
            )
        days_off = {
            row[0]: tuple(int(d) for d in row[1:] if d != "") for row in sections.get("SECTION_DAYS_OFF", [])
        }

        def requests(section: str) -> tuple[NrpRequest, ...]:
            return tuple(
                NrpRequest(row[0], int(row[1]), row[2], int(row[3])) for row in sections.get(section, [])
            )

        cover = tuple(
            NrpCover(int(row[0]), row[1], int(row[2]), int(row[3]), int(row[4]))
            for row in sections.get("SECTION_COVER", [])
        )
    except (KeyError, IndexError, ValueError) as exc:
        raise NrpFormatError(f"{name or 'instance'}: {exc!r}") from exc
    return Instance(
        name=name,
        horizon=horizon,
        shifts=shifts,
        staff=tuple(staff),
        days_off=days_off,
        on_requests=requests("SECTION_SHIFT_ON_REQUESTS"),
        off_requests=requests("SECTION_SHIFT_OFF_REQUESTS"),
        cover=cover,
    )


def load(path: str | Path) -> Instance:
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), name=path.stem)


def to_problem(instance: Instance) -> Problem:
    """The instance as solver rules (see the module docstring for the one-to-one mapping)."""
    rules: list[Rule] = []
    for shift in instance.shifts:
        rules += [ForbiddenSuccession(first=shift.id, then=then) for then in shift.cannot_follow]
    for staff in instance.staff:
        who = frozenset({staff.id})
        for shift_id, limit in staff.max_shifts.items():
            rules.append(ShiftCount(who, frozenset({shift_id}), maximum=limit))
        rules.append(TotalMinutes(who, minimum=staff.min_total_minutes, maximum=staff.max_total_minutes))
        rules.append(MaxConsecutive(who, staff.max_consecutive_shifts))
        rules.append(MinConsecutive(who, staff.min_consecutive_shifts))
        rules.append(MinConsecutiveDaysOff(who, staff.min_consecutive_days_off))
        rules.append(MaxWeekends(who, staff.max_weekends))
    for staff_id, days in instance.days_off.items():
        rules += [Unavailable(staff_id, day, reason="休息日") for day in days if 0 <= day < instance.horizon]
    rules += [Request(r.staff, r.day, r.shift, wants=True, weight=r.weight) for r in instance.on_requests]
    rules += [Request(r.staff, r.day, r.shift, wants=False, weight=r.weight) for r in instance.off_requests]
    rules += [
        Cover(c.day, c.shift, c.requirement, under_weight=c.under_weight, over_weight=c.over_weight)
        for c in instance.cover
    ]
    return Problem(
        horizon=Horizon(instance.horizon, first_weekday=0),
        shifts=tuple(ShiftType(s.id, s.id, minutes=s.minutes) for s in instance.shifts),
        people=tuple(Person(s.id, s.id) for s in instance.staff),
        rules=tuple(rules),
        name=instance.name,
    )
