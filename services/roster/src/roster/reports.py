"""Attendance and fairness reports over a period (期) or a calendar year, per member, team or organisation.

One read, no writes: the people counted and their duties come from the database, the figures from
``roster.domain.reports``, the places' names and townships from the directory (``roster.turnout``). Paging is by
the group's key (member id, team id or organisation id): ``after`` is the last key of the previous page. The summary
and the per-place figures are over everyone the filters select, whatever the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from pingan_shared.refused import NotFound
from roster import turnout, visibility
from roster.context import RosterContext
from roster.domain.reports import Duty, GroupBy, Person, group, summary, tally, turnout_by_area
from roster.store import reports as store


class PeriodNotFound(NotFound):
    """No such period (in that year); for a member, also one it does not serve in (the same answer)."""

    def __init__(self) -> None:
        super().__init__(visibility.NO_SUCH_PERIOD, "query.period_id")


@dataclass(frozen=True)
class Query:
    period_id: str | None = None
    year: int | None = None
    group_by: GroupBy = GroupBy.MEMBER
    member_id: str | None = None
    team_id: str | None = None
    org_id: str | None = None
    limit: int = 100
    after: str | None = None
    viewer: str | None = None  # a member's own view: only a period it serves in (roster.visibility)


async def attendance_report(conn: asyncpg.Connection, ctx: RosterContext, query: Query) -> dict[str, object]:
    zone = ctx.zone

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone)

    scope: dict[str, object]
    if query.period_id is not None:
        period = await store.period(conn, query.period_id)
        if period is None or (query.year is not None and period["starts_on"].year != query.year) or not (
                await visibility.serves_in(conn, query.period_id, query.viewer)):
            raise PeriodNotFound()
        since, until = midnight(period["starts_on"]), midnight(period["ends_on"] + timedelta(days=1))
        year = period["starts_on"].year
        scope = {"period_id": period["period_id"], "name": period["name"], "starts_on": period["starts_on"],
                 "ends_on": period["ends_on"]}
    else:
        year = query.year or ctx.now().astimezone(zone).year
        since, until = midnight(date(year, 1, 1)), midnight(date(year + 1, 1, 1))
        scope = {"year": year}
    year_start = midnight(date(year, 1, 1))
    people = [Person(r["member_id"], r["name"], r["org_id"], r["team_id"]) for r in await store.people(
        conn, period_id=query.period_id, since=since, until=until, member_id=query.member_id,
        team_id=query.team_id, org_id=query.org_id, zone=zone.key)]
    rows = await store.duties(conn, [p.member_id for p in people], year_start=year_start, until=until)
    duties = [Duty(r["member_id"], r["shift_id"], r["starts_at"],
                   in_scope=(r["period_id"] == query.period_id) if query.period_id is not None
                   else since <= r["starts_at"] < until,
                   present=r["present"], no_show=r["no_show"], area=r["area"]) for r in rows]
    tallies = tally(people, duties, zone)
    groups = [g for g in group(tallies, query.group_by) if query.after is None or g.key > query.after]
    page = groups[:query.limit]
    return {
        "scope": {**scope, "cumulative_since": year_start.date(), "group_by": query.group_by.value},
        "summary": summary(tallies),
        # over the same people as the summary: their duties in scope by place, and by township
        **await turnout.by_place(conn, turnout_by_area(duties, zone)),
        "items": [g.row(query.group_by) for g in page],
        "next_after": page[-1].key if len(groups) > query.limit else None,
    }
