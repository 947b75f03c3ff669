"""Periods (期) of a programme, their cohorts and duties; adding a duty creates its shifts on the period's days.
One transaction per call; a refusal (``pingan_shared.refused``) is the caller's answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from pingan_shared.directory.doors import TEAMS, organisation_code, place_code
from pingan_shared.refused import Conflict, Invalid, NotFound
from roster import patrol_answers, places, visibility
from roster.context import RosterContext
from roster.domain.periods import MAX_SHIFT_ID, DutyIn, PeriodIn, shift_id, shift_slots
from roster.store import periods as store

NO_SUCH_PERIOD = visibility.NO_SUCH_PERIOD


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"


def _unknown_members(unknown: list[str], field: str) -> Conflict:
    return Conflict(f"名单中有未登记的队员：{'、'.join(unknown[:20])} (unknown members)", field)


async def create_period(conn: asyncpg.Connection, programme_id: str, period: PeriodIn, now: datetime) -> Outcome:
    """CREATED, or UNCHANGED for the same period again; refused for an unknown programme or cohort member, or
    another period with this id."""
    if await store.get_programme(conn, programme_id) is None:
        raise NotFound("没有该轮训项目 (no such programme)")
    unknown = await store.unknown_members(conn, period.cohort)
    if unknown:
        raise _unknown_members(unknown, "body.cohort")
    if await store.insert_period(conn, programme_id, period, now):
        return Outcome.CREATED
    existing = await store.get_period(conn, period.period_id)
    same = existing is not None and (
        existing["programme_id"] == programme_id and existing["name"] == period.name
        and existing["starts_on"] == period.starts_on and existing["ends_on"] == period.ends_on
        and existing["rules"] == period.rules.model_dump(mode="json")
        and await store.cohort(conn, period.period_id) == sorted(set(period.cohort)))
    if not same:
        raise Conflict("该编号已用于内容不同的一期 (a different period has this id)", "body.period_id")
    return Outcome.UNCHANGED


async def replace_cohort(conn: asyncpg.Connection, period_id: str, member_ids: list[str]) -> None:
    if await store.get_period(conn, period_id, lock=True) is None:
        raise NotFound(NO_SUCH_PERIOD)
    unknown = await store.unknown_members(conn, member_ids)
    if unknown:
        raise _unknown_members(unknown, "body.member_ids")
    await store.set_cohort(conn, period_id, member_ids)


@dataclass(frozen=True)
class AddedDuty:
    outcome: Outcome
    duty: DutyIn  # as stored: its area and team by their directory codes
    shifts: int  # how many shifts it makes


async def add_duty(conn: asyncpg.Connection, period_id: str, duty: DutyIn, zone: ZoneInfo, now: datetime) -> AddedDuty:
    """The duty as stored, CREATED or UNCHANGED; refused for an unknown period, an area or team the directory does not
    hold (422), a duty on none of its days, or another duty of the period with this id."""
    period = await store.get_period(conn, period_id, lock=True)
    if period is None:
        raise NotFound(NO_SUCH_PERIOD)
    given, duty = duty, await _by_codes(conn, duty)
    if len(shift_id(period_id, duty.duty_id, period["starts_on"])) > MAX_SHIFT_ID:
        most = MAX_SHIFT_ID - len(shift_id("", "", period["starts_on"]))
        raise Invalid(f"期编号与勤务编号合计过长：至多{most}个字符 (the period's id and the duty's id together make "
                      f"its shift ids: at most {most} characters)", "body.duty_id")
    slots = shift_slots(period_id, duty.duty_id, duty.start_time, duty.end_time, duty.weekdays, period["starts_on"],
                        period["ends_on"], zone)
    if not slots:
        raise Conflict("该勤务在本期没有任何一天 (the duty runs on none of the period's days)", "body.weekdays")
    existing = await store.get_duty(conn, period_id, duty.duty_id)
    if existing is not None:
        if duty_in(existing) in (duty, given):  # given: a duty stored before areas were kept by code
            return AddedDuty(Outcome.UNCHANGED, duty, len(slots))
        raise Conflict("本期已有该编号的勤务，内容不同 (a different duty of this period has this id)", "body.duty_id")
    # ``<period>:<duty>@<day>`` is the same for period "a:b" with duty "c" and period "a" with duty "b:c", and a shift
    # made before duty ids were per period may hold one too: a shift id is never given twice.
    taken = await store.taken_shift_ids(conn, [s.shift_id for s in slots])
    if taken:
        raise Conflict(f"班次编号已被其他勤务使用：{taken[0]} (a shift id this duty would make is taken: choose "
                       "another duty id)", "body.duty_id")
    if not await store.insert_duty(conn, period_id, duty, slots, now):
        raise Conflict("本期已有该编号的勤务 (a duty of this period has this id)", "body.duty_id")
    return AddedDuty(Outcome.CREATED, duty, len(slots))


async def _by_codes(conn: asyncpg.Connection, duty: DutyIn) -> DutyIn:
    """The duty with its area and team as the directory's codes (a unique name names its entry)."""
    area = await place_code(conn, duty.area, field="body.area")
    team = await organisation_code(conn, duty.team_id, field="body.team_id", kinds=TEAMS)
    return duty.model_copy(update={"area": area, "team_id": team})


async def duty_answer(conn: asyncpg.Connection, duty: DutyIn) -> dict[str, Any]:
    """A duty as people read it: its codes and the directory's names for them."""
    [answer] = await places.named(conn, [duty.model_dump(mode="json")])
    return answer


async def list_periods(ctx: RosterContext, *, programme_id: str | None, after: str | None,
                       limit: int) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        return [dict(r) for r in await store.list_periods(conn, programme_id=programme_id, after=after, limit=limit)]


async def get_period(ctx: RosterContext, period_id: str) -> dict[str, Any]:
    """A period with its cohort and duties."""
    async with ctx.runtime.connection() as conn:
        row = await store.get_period(conn, period_id)
        if row is None:
            raise NotFound(NO_SUCH_PERIOD)
        duties = [duty_in(d).model_dump(mode="json") for d in await store.duties(conn, period_id)]
        return dict(row) | {"cohort": await store.cohort(conn, period_id),
                            "duties": await places.named(conn, duties),
                            "not_planned_in_patrol": await patrol_answers.not_planned(conn, period_id)}


def duty_in(row: asyncpg.Record) -> DutyIn:
    values = {k: row[k] for k in ("duty_id", "kind", "title", "area", "route_id", "team_id", "start_time",
                                  "end_time", "required_size", "composition")}
    values["weekdays"] = list(row["weekdays"])
    values["required_skills"] = list(row["required_skills"])
    return DutyIn.model_validate(values)
