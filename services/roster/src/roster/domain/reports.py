"""Attendance and fairness figures, no I/O: folding duties into per-person counts, and per-person counts into
team and organisation figures with the spread between the most and the least loaded.

A *duty* is a published shift a person is on. Its attendance is one of: attended (a presence: scan or check-in),
no-show (the check fired and nobody came since), resolved (a no-show a later presence answered: a late offline
batch, a backfilled check-in — counted as attended too) or pending (not checked yet: the grace is still ahead).
*Nights* are duties starting in the evening or small hours (``attendance.is_night``). The year's cumulative
counts take every duty of the scope's calendar year up to the scope's end — earlier periods included — so an
organiser sees whether turns rotate over the year (我为大家巡一天，大家为我巡一年).

*Turnout* is the same attendance counted per place instead of per person: the duties in scope at a place (the
shift's area), and the people who held them, so that places fold into their township.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from roster.domain.attendance import is_night


class GroupBy(StrEnum):
    MEMBER = "member"
    TEAM = "team"
    ORGANISATION = "organisation"


@dataclass(frozen=True)
class Person:
    member_id: str
    name: str
    org_id: str
    team_id: str | None


@dataclass(frozen=True)
class Duty:
    member_id: str
    shift_id: str
    starts_at: datetime
    in_scope: bool  # in the period or year asked for (else only in the year's cumulative count)
    present: bool
    no_show: bool
    area: str | None = None  # the shift's place (a directory code; a name for shifts from before codes)


@dataclass
class Tally:
    duties: int = 0
    nights: int = 0
    attended: int = 0
    no_shows: int = 0
    resolved: int = 0
    pending: int = 0
    year_duties: int = 0
    year_nights: int = 0

    def add(self, duty: Duty, *, night: bool) -> None:
        self.year_duties += 1
        self.year_nights += night
        if not duty.in_scope:
            return
        self.duties += 1
        self.nights += night
        self.attended += duty.present
        self.no_shows += duty.no_show and not duty.present
        self.resolved += duty.no_show and duty.present
        self.pending += not duty.no_show and not duty.present

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Spread:
    """Between the most and the least loaded person: what fairness is judged by."""

    least: int
    most: int

    @property
    def spread(self) -> int:
        return self.most - self.least

    def as_dict(self) -> dict[str, int]:
        return {"least": self.least, "most": self.most, "spread": self.spread}


def spread(values: Sequence[int]) -> Spread:
    return Spread(min(values), max(values)) if values else Spread(0, 0)


@dataclass
class Group:
    key: str
    people: list[tuple[Person, Tally]] = field(default_factory=list)

    def row(self, group_by: GroupBy) -> dict[str, object]:
        total = Tally()
        for _, tally in self.people:
            for name, value in tally.as_dict().items():
                setattr(total, name, getattr(total, name) + value)
        row: dict[str, object] = {}
        if group_by is GroupBy.MEMBER:
            person = self.people[0][0]
            row.update(member_id=person.member_id, name=person.name, org_id=person.org_id, team_id=person.team_id)
        else:
            row["team_id" if group_by is GroupBy.TEAM else "org_id"] = self.key
            row["people"] = len(self.people)
        row.update(total.as_dict())
        if group_by is not GroupBy.MEMBER:
            row["duties_per_person"] = spread([t.duties for _, t in self.people]).as_dict()
            row["nights_per_person"] = spread([t.nights for _, t in self.people]).as_dict()
            row["year_nights_per_person"] = spread([t.year_nights for _, t in self.people]).as_dict()
        return row


def tally(people: Iterable[Person], duties: Iterable[Duty], zone: ZoneInfo) -> list[tuple[Person, Tally]]:
    """Each person's tally (people with no duty at all count too: they are the least loaded)."""
    tallies = {p.member_id: (p, Tally()) for p in people}
    for duty in duties:
        entry = tallies.get(duty.member_id)
        if entry is not None:
            entry[1].add(duty, night=is_night(duty.starts_at, zone))
    return sorted(tallies.values(), key=lambda e: e[0].member_id)


def group(tallies: Iterable[tuple[Person, Tally]], group_by: GroupBy) -> list[Group]:
    groups: dict[str, Group] = {}
    for person, person_tally in tallies:
        if group_by is GroupBy.MEMBER:
            key = person.member_id
        elif group_by is GroupBy.TEAM:
            key = person.team_id or "(无队)"
        else:
            key = person.org_id
        groups.setdefault(key, Group(key)).people.append((person, person_tally))
    return [groups[k] for k in sorted(groups)]


def summary(tallies: Sequence[tuple[Person, Tally]]) -> dict[str, object]:
    """Over everyone in the report: totals and the per-person spreads."""
    total = Tally()
    for _, t in tallies:
        for name, value in t.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
    return {
        "people": len(tallies),
        **total.as_dict(),
        "duties_per_person": spread([t.duties for _, t in tallies]).as_dict(),
        "nights_per_person": spread([t.nights for _, t in tallies]).as_dict(),
        "year_duties_per_person": spread([t.year_duties for _, t in tallies]).as_dict(),
        "year_nights_per_person": spread([t.year_nights for _, t in tallies]).as_dict(),
    }


@dataclass
class Turnout:
    """One place's duties in scope: how many, nights, their attendance, and who held them."""

    tally: Tally = field(default_factory=Tally)
    people: set[str] = field(default_factory=set)

    def add(self, duty: Duty, *, night: bool) -> None:
        self.tally.add(duty, night=night)
        self.people.add(duty.member_id)

    def merge(self, other: Turnout) -> None:
        for name, value in other.tally.as_dict().items():
            setattr(self.tally, name, getattr(self.tally, name) + value)
        self.people |= other.people

    def as_dict(self) -> dict[str, int]:
        figures = {k: v for k, v in self.tally.as_dict().items() if not k.startswith("year_")}
        return {"people": len(self.people), **figures}


def turnout_by_area(duties: Iterable[Duty], zone: ZoneInfo) -> dict[str | None, Turnout]:
    """The in-scope duties per area as given (None: a duty with no area, such as day training)."""
    out: dict[str | None, Turnout] = {}
    for duty in duties:
        if duty.in_scope:
            out.setdefault(duty.area, Turnout()).add(duty, night=is_night(duty.starts_at, zone))
    return out


K = TypeVar("K", bound=Hashable)


def roll_up(turnouts: Mapping[str | None, Turnout], key: Mapping[str | None, K]) -> dict[K, Turnout]:
    """The turnouts folded by ``key`` (area -> what it counts for: its place, its township); people counted once."""
    out: dict[K, Turnout] = {}
    for area, turnout in turnouts.items():
        out.setdefault(key[area], Turnout()).merge(turnout)
    return out
