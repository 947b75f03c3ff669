"""SQL for the attendance and fairness reports: who is counted, and their published duties with attendance."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def period(conn: asyncpg.Connection, period_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT period_id, name, starts_on, ends_on FROM periods WHERE period_id = $1",
                               period_id)


async def people(
    conn: asyncpg.Connection, *, period_id: str | None, since: datetime, until: datetime,
    member_id: str | None, team_id: str | None, org_id: str | None, zone: str,
) -> list[asyncpg.Record]:
    """Everyone the report counts: the cohort of the period (or of every period in [since, until)) and everyone
    on a published shift there, narrowed by the filters. A cohort member with no duty counts: the least loaded."""
    return await conn.fetch(
        """
        WITH scope_periods AS (
            SELECT period_id FROM periods
            WHERE period_id = $1 OR ($1::text IS NULL AND starts_on < ($3 AT TIME ZONE $7)::date
                                     AND ends_on >= ($2 AT TIME ZONE $7)::date)
        ), counted AS (
            SELECT pm.member_id FROM period_members pm JOIN scope_periods USING (period_id)
            UNION
            SELECT a.member_id FROM shift_assignments a JOIN shifts s ON s.shift_id = a.shift_id
            WHERE s.status = 'published' AND (s.period_id = $1 OR ($1::text IS NULL AND s.starts_at >= $2
                                                                  AND s.starts_at < $3))
        )
        SELECT m.member_id, m.name, m.org_id, m.team_id FROM counted JOIN members m USING (member_id)
        WHERE ($4::text IS NULL OR m.member_id = $4) AND ($5::text IS NULL OR m.team_id = $5)
          AND ($6::text IS NULL OR m.org_id = $6)
        ORDER BY m.member_id
        """,
        period_id, since, until, member_id, team_id, org_id, zone,
    )


async def duties(
    conn: asyncpg.Connection, member_ids: list[str], *, year_start: datetime, until: datetime,
) -> list[asyncpg.Record]:
    """The published duties of these people from the year's start to ``until``, with their place and attendance."""
    return await conn.fetch(
        """
        SELECT a.member_id, s.shift_id, s.period_id, s.starts_at, s.area,
               p.present_at IS NOT NULL AS present, p.no_show_at IS NOT NULL AS no_show
        FROM shift_assignments a JOIN shifts s ON s.shift_id = a.shift_id
        LEFT JOIN shift_presence p ON p.shift_id = a.shift_id AND p.member_id = a.member_id
        WHERE a.member_id = ANY($1::text[]) AND s.status = 'published'
          AND s.starts_at >= $2 AND s.starts_at < $3
        """,
        member_ids, year_start, until,
    )

