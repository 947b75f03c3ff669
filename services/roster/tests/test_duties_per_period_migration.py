"""Migration 0007 makes a duty's key (period_id, duty_id) on a database that already holds duties, shifts and wishes:
they keep their rows and ids (a shift's published events are out under its id), a second period may then have a duty
of the same id, and a shift or a wish still cannot name a duty of another period."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import asyncpg
import pytest

from pingan_shared.db.migrations import apply_migrations, load_migrations, platform_migrations

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = date(2026, 12, 7)


async def _period(conn: asyncpg.Connection, period_id: str) -> None:
    await conn.execute("INSERT INTO periods (period_id, programme_id, name, starts_on, ends_on, created_at) "
                       "VALUES ($1, 'P', $1, $2, $2, $3)", period_id, DAY, NOW)


async def _duty(conn: asyncpg.Connection, period_id: str, duty_id: str) -> None:
    await conn.execute("INSERT INTO duties (duty_id, period_id, kind, title, area, start_time, end_time, required_size,"
                       " created_at) VALUES ($1, $2, 'road-patrol', '夜间巡逻', '塘下镇', $3, $4, 2, $5)",
                       duty_id, period_id, time(20), time(2), NOW)


async def _shift(conn: asyncpg.Connection, shift_id: str, period_id: str, duty_id: str) -> None:
    await conn.execute("INSERT INTO shifts (shift_id, period_id, duty_id, day, kind, title, starts_at, ends_at, "
                       "status, roster_version, updated_at) VALUES ($1, $2, $3, $4, 'road-patrol', '夜间巡逻', $5, $6, "
                       "'published', 1, $5)", shift_id, period_id, duty_id, DAY,
                       datetime(2026, 12, 7, 12, tzinfo=UTC), datetime(2026, 12, 7, 18, tzinfo=UTC))


async def test_old_duties_shifts_and_wishes_carry_over_and_ids_become_per_period(database_url: str) -> None:
    migrations = [*platform_migrations(), *load_migrations("roster", "roster")]
    before = [m for m in migrations if not (m.component == "roster" and m.version >= 7)]
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, before)
        await conn.execute("INSERT INTO programmes (programme_id, name, level, created_at) "
                           "VALUES ('P', '塘下镇轮值轮训', 'township', $1)", NOW)
        await conn.execute("INSERT INTO organisations (org_id, name, kind, created_at) "
                           "VALUES ('O', '韩田村巡逻队', 'village-patrol-team', $1)", NOW)
        await conn.execute("INSERT INTO members (member_id, name, org_id, role, created_at, updated_at) "
                           "VALUES ('M1', '队员1', 'O', 'patrol-member', $1, $1)", NOW)
        await _period(conn, "263")
        await _period(conn, "264")
        await _duty(conn, "263", "night")
        await _shift(conn, "night@2026-12-07", "263", "night")  # the id a shift had before 0007
        await conn.execute("INSERT INTO member_requests (period_id, member_id, day, duty_id, wants) "
                           "VALUES ('263', 'M1', $1, 'night', true), ('263', 'M1', $1, NULL, false)", DAY)
        with pytest.raises(asyncpg.UniqueViolationError):
            await _duty(conn, "264", "night")  # ids were global

        await apply_migrations(conn, migrations)

        assert await conn.fetchval("SELECT shift_id FROM shifts WHERE period_id = '263'") == "night@2026-12-07"
        assert await conn.fetchval("SELECT count(*) FROM member_requests") == 2
        await _duty(conn, "264", "night")  # now the period's own
        await _shift(conn, "264:night@2026-12-07", "264", "night")
        with pytest.raises(asyncpg.UniqueViolationError):
            await _duty(conn, "264", "night")
        with pytest.raises(asyncpg.ForeignKeyViolationError):  # a shift of 264 cannot name a duty only 263 has
            await _duty(conn, "263", "training")
            await _shift(conn, "264:training@2026-12-07", "264", "training")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute("INSERT INTO member_requests (period_id, member_id, day, duty_id, wants) "
                               "VALUES ('264', 'M1', $1, 'training', true)", DAY)
        with pytest.raises(asyncpg.UniqueViolationError):  # one shift per duty and day
            await _shift(conn, "264:night@again", "264", "night")
        # removing a duty removes its shifts and wishes, and only its period's
        await conn.execute("DELETE FROM duties WHERE period_id = '263' AND duty_id = 'night'")
        assert [r["shift_id"] for r in await conn.fetch("SELECT shift_id FROM shifts")] == ["264:night@2026-12-07"]
        assert [r["duty_id"] for r in await conn.fetch("SELECT duty_id FROM member_requests")] == [None]
    finally:
        await conn.close()
