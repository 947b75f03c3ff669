"""SQL for organisations, members and their unavailability."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from roster.domain.members import MemberIn, OrganisationIn

ORG_COLUMNS = "org_id, name, kind, area"
MEMBER_COLUMNS = "member_id, name, org_id, role, skills, phone, email, team_id, app_member_id, active"


async def get_org(conn: asyncpg.Connection, org_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"SELECT {ORG_COLUMNS} FROM organisations WHERE org_id = $1",
                                                     org_id)
    return row


async def insert_org(conn: asyncpg.Connection, org: OrganisationIn, now: datetime) -> bool:
    status = await conn.execute(
        "INSERT INTO organisations (org_id, name, kind, area, created_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (org_id) DO NOTHING", org.org_id, org.name, org.kind.value, org.area, now)
    return bool(status.endswith(" 1"))


async def update_org(conn: asyncpg.Connection, org: OrganisationIn) -> bool:
    status = await conn.execute("UPDATE organisations SET name = $2, kind = $3, area = $4 WHERE org_id = $1",
                                org.org_id, org.name, org.kind.value, org.area)
    return bool(status.endswith(" 1"))


async def list_orgs(
    conn: asyncpg.Connection, *, kind: str | None, after: str | None, limit: int
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {ORG_COLUMNS} FROM organisations WHERE ($1::text IS NULL OR kind = $1)
            AND ($2::text IS NULL OR org_id > $2) ORDER BY org_id LIMIT $3""", kind, after, limit)
    return rows


async def org_names(conn: asyncpg.Connection, org_ids: list[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT org_id, name FROM organisations WHERE org_id = ANY($1)", sorted(set(org_ids)))
    return {r["org_id"]: r["name"] for r in rows}


async def lock_member_id(conn: asyncpg.Connection, member_id: str) -> None:
    """Serialise registrations of one member id until the transaction ends (the row may not exist yet)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('roster.member:' || $1))", member_id)


async def member_names(conn: asyncpg.Connection, member_ids: list[str]) -> dict[str, str]:
    rows = await conn.fetch("SELECT member_id, name FROM members WHERE member_id = ANY($1)", member_ids)
    return {r["member_id"]: r["name"] for r in rows}


async def get_member(conn: asyncpg.Connection, member_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {MEMBER_COLUMNS} FROM members WHERE member_id = $1" + (" FOR UPDATE" if lock else ""), member_id)
    return row


async def members_by_ids(conn: asyncpg.Connection, member_ids: list[str]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {MEMBER_COLUMNS} FROM members WHERE member_id = ANY($1) ORDER BY member_id", member_ids)
    return rows


async def get_unavailability(conn: asyncpg.Connection, member_ids: list[str]) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT member_id, from_day, to_day, reason FROM member_unavailability WHERE member_id = ANY($1)"
        " ORDER BY member_id, from_day, id", member_ids)
    return rows


async def app_id_taken(conn: asyncpg.Connection, member: MemberIn) -> bool:
    if member.team_id is None or member.app_member_id is None:
        return False
    taken = await conn.fetchval(
        "SELECT 1 FROM members WHERE team_id = $1 AND app_member_id = $2 AND member_id <> $3",
        member.team_id, member.app_member_id, member.member_id)
    return taken is not None


async def upsert_member(conn: asyncpg.Connection, member: MemberIn, now: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO members (member_id, name, org_id, role, skills, phone, email, team_id, app_member_id, active,
                             created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
        ON CONFLICT (member_id) DO UPDATE SET name = EXCLUDED.name, org_id = EXCLUDED.org_id, role = EXCLUDED.role,
            skills = EXCLUDED.skills, phone = EXCLUDED.phone, email = EXCLUDED.email, team_id = EXCLUDED.team_id,
            app_member_id = EXCLUDED.app_member_id, active = EXCLUDED.active, updated_at = EXCLUDED.updated_at
        """,
        member.member_id, member.name, member.org_id, member.role.value, sorted(set(member.skills)), member.phone,
        member.email, member.team_id, member.app_member_id, member.active, now)
    await conn.execute("DELETE FROM member_unavailability WHERE member_id = $1", member.member_id)
    if member.unavailability:
        await conn.executemany(
            "INSERT INTO member_unavailability (member_id, from_day, to_day, reason) VALUES ($1, $2, $3, $4)",
            [(member.member_id, u.from_day, u.to_day, u.reason) for u in member.unavailability])


async def deactivate(conn: asyncpg.Connection, member_id: str, now: datetime) -> bool:
    status = await conn.execute("UPDATE members SET active = false, updated_at = $2 WHERE member_id = $1",
                                member_id, now)
    return bool(status.endswith(" 1"))


async def list_members(
    conn: asyncpg.Connection, *, org_id: str | None, role: str | None, team_id: str | None, active: bool | None,
    after: str | None, limit: int, name: str | None = None,
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {MEMBER_COLUMNS} FROM members
            WHERE ($1::text IS NULL OR org_id = $1) AND ($2::text IS NULL OR role = $2)
              AND ($3::text IS NULL OR team_id = $3) AND ($4::boolean IS NULL OR active = $4)
              AND ($5::text IS NULL OR member_id > $5)
              -- strpos, not LIKE: a typed % or _ is a character to find, not a wildcard
              AND ($7::text IS NULL OR strpos(lower(name), lower($7)) > 0 OR strpos(lower(member_id), lower($7)) > 0)
            ORDER BY member_id LIMIT $6""", org_id, role, team_id, active, after, limit, name)
    return rows
