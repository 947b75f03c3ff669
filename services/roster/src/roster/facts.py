"""Loading what the rules need from the tables: a period's facts for a solve, a duty's facts for a swap check."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from roster.domain.periods import CompositionIn, PeriodRules
from roster.domain.problem import Absence, DutyFacts, MemberFacts, PeriodFacts, Wish
from roster.store import members as member_store
from roster.store import periods as period_store
from roster.store import shifts as shift_store

# Fairness across periods counts the published duties of the year before the period starts.
HISTORY_DAYS = 365


def duty_facts(row: asyncpg.Record) -> DutyFacts:
    return DutyFacts(
        duty_id=row["duty_id"], title=row["title"], kind=row["kind"], area=row["area"],
        start_time=row["start_time"], end_time=row["end_time"], weekdays=tuple(row["weekdays"]),
        required_size=row["required_size"], composition=CompositionIn.model_validate(row["composition"]),
        required_skills=frozenset(row["required_skills"]))


def member_facts(row: asyncpg.Record) -> MemberFacts:
    return MemberFacts(member_id=row["member_id"], name=row["name"], org_id=row["org_id"], role=row["role"],
                       skills=frozenset(row["skills"]))


def period_rules(row: asyncpg.Record) -> PeriodRules:
    return PeriodRules.model_validate(row["rules"] or {})


async def load_period_facts(conn: asyncpg.Connection, period_id: str, *, replan: bool) -> PeriodFacts | None:
    period = await period_store.get_period(conn, period_id)
    if period is None:
        return None
    rules = period_rules(period)
    duties = tuple(duty_facts(d) for d in await period_store.duties(conn, period_id))
    cohort = await period_store.cohort(conn, period_id)
    members = tuple(member_facts(r) for r in await member_store.members_by_ids(conn, cohort) if r["active"])
    ids = [m.member_id for m in members]
    absences = tuple(Absence(r["member_id"], r["from_day"], r["to_day"], r["reason"])
                     for r in await member_store.get_unavailability(conn, ids))
    wishes = tuple(Wish(r["member_id"], r["day"], r["duty_id"], r["wants"], r["weight"])
                   for r in await period_store.wishes(conn, period_id))
    starts_on = period["starts_on"]
    nights, duty_counts = await shift_store.member_history(conn, ids, starts_on,
                                                           starts_on - timedelta(days=HISTORY_DAYS))
    window = (rules.max_consecutive_nights or 0) + 1
    before = await shift_store.nights_before(conn, ids, starts_on, window)
    shifts = await shift_store.period_shifts(conn, period_id)
    previous: tuple[tuple[str, str], ...] = ()
    if replan:
        on = await shift_store.assignees(conn, [s["shift_id"] for s in shifts if s["status"] == "published"])
        previous = tuple((m, s) for s, ms in on.items() for m in ms)
    return PeriodFacts(period_id=period_id, name=period["name"], starts_on=starts_on, ends_on=period["ends_on"],
                       rules=rules, duties=duties, members=members, absences=absences, wishes=wishes,
                       past_nights=nights, past_duties=duty_counts, nights_before=before, previous=previous,
                       shift_ids={(s["duty_id"], s["day"]): s["shift_id"] for s in shifts})
