"""SQL for circulated notices (通报): one open per unit (a unique index), numbered per year without gaps
(``notice_numbers``, its year's row locked while numbers are taken)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from inspection.domain.notices import notice_number


@dataclass(frozen=True)
class OpenNotice:
    id: str
    unit_id: str
    year: int
    number: int
    created: bool  # issued by this call (else an open notice the tasks merge into)

    @property
    def label(self) -> str:
        return notice_number(self.year, self.number)


def notice_id(year: int, number: int) -> str:
    return f"N{year}-{number:04d}"


async def open_notices_for(conn: asyncpg.Connection, unit_ids: Sequence[str], *, year: int, cycle_id: str | None,
                           now: datetime) -> dict[str, OpenNotice]:
    """Each unit's open notice, issuing one (with the year's next number) to a unit that has none.

    The units' rows are locked (in id order) so two writers cannot both issue a unit's notice; numbers are
    taken in unit id order, in one statement.
    """
    units = sorted(set(unit_ids))
    if not units:
        return {}
    await conn.execute("SELECT 1 FROM units WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE", units)
    rows = await conn.fetch(
        "SELECT id, unit_id, year, number FROM notices WHERE unit_id = ANY($1::text[]) AND status = 'open'", units)
    found = {r["unit_id"]: OpenNotice(r["id"], r["unit_id"], r["year"], r["number"], False) for r in rows}
    missing = [u for u in units if u not in found]
    if missing:
        last = await conn.fetchval(
            "INSERT INTO notice_numbers AS nn (year, last) VALUES ($1, $2) "
            "ON CONFLICT (year) DO UPDATE SET last = nn.last + EXCLUDED.last RETURNING last",
            year, len(missing),
        )
        first = last - len(missing) + 1
        created = [OpenNotice(notice_id(year, first + i), u, year, first + i, True) for i, u in enumerate(missing)]
        await conn.execute(
            """
            INSERT INTO notices (id, year, number, unit_id, cycle_id, status, issued_at)
            SELECT id, $2, number, unit_id, $3, 'open', $4
            FROM unnest($1::text[], $5::int[], $6::text[]) AS n (id, number, unit_id)
            """,
            [n.id for n in created], year, cycle_id, now, [n.number for n in created], [n.unit_id for n in created],
        )
        found.update({n.unit_id: n for n in created})
    return found


NOTICE_COLUMNS = "id, year, number, unit_id, cycle_id, status, issued_at, closed_at"


@dataclass(frozen=True)
class NoticeRow:
    id: str
    year: int
    number: int
    unit_id: str
    cycle_id: str | None
    status: str
    issued_at: datetime
    closed_at: datetime | None

    @property
    def label(self) -> str:
        return notice_number(self.year, self.number)


async def get(conn: asyncpg.Connection, notice_id_: str) -> NoticeRow | None:
    row = await conn.fetchrow(f"SELECT {NOTICE_COLUMNS} FROM notices WHERE id = $1", notice_id_)
    return None if row is None else NoticeRow(**dict(row))


async def page(conn: asyncpg.Connection, *, units: Sequence[str] | None, status: str | None, year: int | None,
               limit: int, after: str | None) -> list[NoticeRow]:
    """A page of notices in id order, of ``units`` only (None: of every unit)."""
    rows = await conn.fetch(
        f"""
        SELECT {NOTICE_COLUMNS} FROM notices
        WHERE ($1::text[] IS NULL OR unit_id = ANY($1::text[])) AND ($2::text IS NULL OR status = $2)
          AND ($3::int IS NULL OR year = $3) AND ($4::text IS NULL OR id > $4)
        ORDER BY id LIMIT $5
        """,
        None if units is None else list(units), status, year, after, limit,
    )
    return [NoticeRow(**dict(r)) for r in rows]

