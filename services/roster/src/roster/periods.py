"""Periods (期) of a programme, their cohorts and duties; adding a duty creates its shifts on the period's days.
One transaction per call."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import asyncpg

from roster.domain.periods import DutyIn, PeriodIn, shift_slots
from roster.store import periods as store


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"
    UNKNOWN_PROGRAMME = "unknown_programme"
    UNKNOWN_MEMBERS = "unknown_members"
    NOT_FOUND = "not_found"
    NO_SHIFTS = "no_shifts"


async def create_period(conn: asyncpg.Connection, programme_id: str, period: PeriodIn,
                        now: datetime) -> tuple[Outcome, list[str]]:
    """(outcome, unknown member ids of the cohort)."""
    if await store.get_programme(conn, programme_id) is None:
        return Outcome.UNKNOWN_PROGRAMME, []
    unknown = await store.unknown_members(conn, period.cohort)
    if unknown:
        return Outcome.UNKNOWN_MEMBERS, unknown
    if await store.insert_period(conn, programme_id, period, now):
        return Outcome.CREATED, []
    existing = await store.get_period(conn, period.period_id)
    if existing is None:
        return Outcome.CONFLICT, []
    same = (existing["programme_id"] == programme_id and existing["name"] == period.name
            and existing["starts_on"] == period.starts_on and existing["ends_on"] == period.ends_on
            and existing["rules"] == period.rules.model_dump(mode="json")
            and await store.cohort(conn, period.period_id) == sorted(set(period.cohort)))
    return (Outcome.UNCHANGED if same else Outcome.CONFLICT), []


async def replace_cohort(conn: asyncpg.Connection, period_id: str, member_ids: list[str]) -> tuple[Outcome, list[str]]:
    if await store.get_period(conn, period_id, lock=True) is None:
        return Outcome.NOT_FOUND, []
    unknown = await store.unknown_members(conn, member_ids)
    if unknown:
        return Outcome.UNKNOWN_MEMBERS, unknown
    await store.set_cohort(conn, period_id, member_ids)
    return Outcome.CREATED, []


async def add_duty(conn: asyncpg.Connection, period_id: str, duty: DutyIn, zone: ZoneInfo,
                   now: datetime) -> tuple[Outcome, int]:
    """(outcome, number of shifts the duty makes)."""
    period = await store.get_period(conn, period_id, lock=True)
    if period is None:
        return Outcome.NOT_FOUND, 0
    slots = shift_slots(duty.duty_id, duty.start_time, duty.end_time, duty.weekdays, period["starts_on"],
                        period["ends_on"], zone)
    if not slots:
        return Outcome.NO_SHIFTS, 0
    if await store.insert_duty(conn, period_id, duty, slots, now):
        return Outcome.CREATED, len(slots)
    existing = await store.get_duty(conn, duty.duty_id)
    if existing is not None and existing["period_id"] == period_id and duty_in(existing) == duty:
        return Outcome.UNCHANGED, len(slots)
    return Outcome.CONFLICT, 0


def duty_in(row: asyncpg.Record) -> DutyIn:
    values = {k: row[k] for k in ("duty_id", "kind", "title", "area", "route_id", "team_id", "start_time",
                                  "end_time", "required_size", "composition")}
    values["weekdays"] = list(row["weekdays"])
    values["required_skills"] = list(row["required_skills"])
    return DutyIn.model_validate(values)
