"""SQL for programmes, periods, cohorts, duties and the shifts each duty makes."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from roster.domain.periods import DutyIn, PeriodIn, ProgrammeIn, ShiftSlot

PROGRAMME_COLUMNS = "programme_id, name, level, area"
PERIOD_COLUMNS = "period_id, programme_id, name, starts_on, ends_on, rules, published_version"
DUTY_COLUMNS = ("duty_id, period_id, kind, title, area, route_id, team_id, start_time, end_time, weekdays, "
                "required_size, composition, required_skills")


async def get_programme(conn: asyncpg.Connection, programme_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {PROGRAMME_COLUMNS} FROM programmes WHERE programme_id = $1", programme_id)
    return row


async def insert_programme(conn: asyncpg.Connection, programme: ProgrammeIn, now: datetime) -> bool:
    status = await conn.execute(
        "INSERT INTO programmes (programme_id, name, level, area, created_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING", programme.programme_id, programme.name, programme.level.value, programme.area, now)
    return bool(status.endswith(" 1"))


async def list_programmes(conn: asyncpg.Connection, *, after: str | None, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {PROGRAMME_COLUMNS} FROM programmes WHERE ($1::text IS NULL OR programme_id > $1)"
        " ORDER BY programme_id LIMIT $2", after, limit)
    return rows


async def get_period(conn: asyncpg.Connection, period_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {PERIOD_COLUMNS} FROM periods WHERE period_id = $1" + (" FOR UPDATE" if lock else ""), period_id)
    return row


async def insert_period(conn: asyncpg.Connection, programme_id: str, period: PeriodIn, now: datetime) -> bool:
    status = await conn.execute(
        "INSERT INTO periods (period_id, programme_id, name, starts_on, ends_on, rules, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        period.period_id, programme_id, period.name, period.starts_on, period.ends_on,
        period.rules.model_dump(mode="json"), now)
    if status.endswith(" 1"):
        await set_cohort(conn, period.period_id, period.cohort)
        return True
    return False


async def set_published_version(conn: asyncpg.Connection, period_id: str, version: int) -> None:
    await conn.execute("UPDATE periods SET published_version = $2 WHERE period_id = $1", period_id, version)


async def set_cohort(conn: asyncpg.Connection, period_id: str, member_ids: list[str]) -> None:
    await conn.execute("DELETE FROM period_members WHERE period_id = $1", period_id)
    await conn.execute(
        "INSERT INTO period_members (period_id, member_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
        period_id, sorted(set(member_ids)))


async def cohort(conn: asyncpg.Connection, period_id: str) -> list[str]:
    return [r["member_id"] for r in await conn.fetch(
        "SELECT member_id FROM period_members WHERE period_id = $1 ORDER BY member_id", period_id)]


async def unknown_members(conn: asyncpg.Connection, member_ids: list[str]) -> list[str]:
    known = {r["member_id"] for r in await conn.fetch(
        "SELECT member_id FROM members WHERE member_id = ANY($1)", member_ids)}
    return sorted(set(member_ids) - known)


async def list_periods(
    conn: asyncpg.Connection, *, programme_id: str | None, after: str | None, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {PERIOD_COLUMNS} FROM periods WHERE ($1::text IS NULL OR programme_id = $1)
            AND ($2::text IS NULL OR period_id > $2) ORDER BY period_id LIMIT $3""", programme_id, after, limit)
    return rows


async def get_duty(conn: asyncpg.Connection, period_id: str, duty_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {DUTY_COLUMNS} FROM duties WHERE period_id = $1 AND duty_id = $2", period_id, duty_id)
    return row


async def duties(conn: asyncpg.Connection, period_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {DUTY_COLUMNS} FROM duties WHERE period_id = $1 ORDER BY duty_id", period_id)
    return rows


async def taken_shift_ids(conn: asyncpg.Connection, shift_ids: list[str]) -> list[str]:
    """Which of these shift ids another duty's shifts already have."""
    return [r["shift_id"] for r in await conn.fetch(
        "SELECT shift_id FROM shifts WHERE shift_id = ANY($1::text[]) ORDER BY shift_id", shift_ids)]


async def insert_duty(conn: asyncpg.Connection, period_id: str, duty: DutyIn, slots: list[ShiftSlot],
                      now: datetime) -> bool:
    status = await conn.execute(
        f"""INSERT INTO duties ({DUTY_COLUMNS}, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING""",
        duty.duty_id, period_id, duty.kind.value, duty.title, duty.area, duty.route_id, duty.team_id,
        duty.start_time, duty.end_time, sorted(set(duty.weekdays)), duty.required_size,
        duty.composition.model_dump(mode="json"), sorted(set(duty.required_skills)), now)
    if not status.endswith(" 1"):
        return False
    await conn.executemany(
        """INSERT INTO shifts (shift_id, period_id, duty_id, day, kind, title, area, route_id, team_id, starts_at,
                               ends_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
        [(s.shift_id, period_id, duty.duty_id, s.day, duty.kind.value, duty.title, duty.area, duty.route_id,
          duty.team_id, s.starts_at, s.ends_at, now) for s in slots])
    return True


async def serves_in(conn: asyncpg.Connection, period_id: str, member_id: str) -> bool:
    """Whether the member is in the period's cohort or on one of its shifts (swapped in from outside it)."""
    return bool(await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM period_members WHERE period_id = $1 AND member_id = $2)
            OR EXISTS (SELECT 1 FROM shifts s JOIN shift_assignments a ON a.shift_id = s.shift_id
                       WHERE s.period_id = $1 AND a.member_id = $2)
        """,
        period_id, member_id))


async def insert_wish(conn: asyncpg.Connection, period_id: str, member_id: str, day: date, duty_id: str | None,
                      wants: bool, weight: int) -> int:
    """A member's wish for (or against) a duty on a day; its id."""
    wish_id: int = await conn.fetchval(
        "INSERT INTO member_requests (period_id, member_id, day, duty_id, wants, weight)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", period_id, member_id, day, duty_id, wants, weight)
    return wish_id


async def wishes(conn: asyncpg.Connection, period_id: str) -> list[asyncpg.Record]:
    """The period's wishes in the order they were made: (member_id, day, duty_id, wants, weight)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT member_id, day, duty_id, wants, weight FROM member_requests WHERE period_id = $1 ORDER BY id",
        period_id)
    return rows
