"""SQL for swap requests (``swap_requests``) and the audit trail of crew changes (``overrides``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from roster.domain.swaps import SwapRequest

REQUEST_COLUMNS = ("request_id, shift_id, from_member_id, to_member_id, note, status, requested_by, requested_at, "
                   "decided_by, decided_at, decision_reason")


def _request(row: asyncpg.Record) -> SwapRequest:
    return SwapRequest(**dict(row))


async def request_for_update(conn: asyncpg.Connection, request_id: str) -> SwapRequest | None:
    row = await conn.fetchrow(f"SELECT {REQUEST_COLUMNS} FROM swap_requests WHERE request_id = $1 FOR UPDATE",
                              request_id)
    return None if row is None else _request(row)


async def pending_request(conn: asyncpg.Connection, shift_id: str, from_member_id: str) -> str | None:
    """The id of the member's pending request for the shift, if it has one."""
    request_id: str | None = await conn.fetchval(
        "SELECT request_id FROM swap_requests WHERE shift_id = $1 AND from_member_id = $2 AND status = 'pending'",
        shift_id, from_member_id)
    return request_id


async def insert_request(conn: asyncpg.Connection, request_id: str, shift_id: str, from_member_id: str,
                         to_member_id: str | None, note: str, requested_by: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO swap_requests (request_id, shift_id, from_member_id, to_member_id, note, status, requested_by,"
        " requested_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        request_id, shift_id, from_member_id, to_member_id, note, requested_by, now)


async def decide_request(conn: asyncpg.Connection, request_id: str, *, status: str, to_member_id: str | None,
                         by: str, now: datetime, reason: str | None) -> None:
    """Settle a pending request: approved (with who takes the shift), refused or withdrawn."""
    await conn.execute(
        "UPDATE swap_requests SET status = $2, to_member_id = coalesce($3, to_member_id), decided_by = $4,"
        " decided_at = $5, decision_reason = coalesce($6, decision_reason) WHERE request_id = $1",
        request_id, status, to_member_id, by, now, reason)


async def list_requests(conn: asyncpg.Connection, *, status: str | None, member_id: str | None, after: str | None,
                        limit: int) -> list[SwapRequest]:
    """Requests in id order, by status, and those a member made or is named in."""
    rows = await conn.fetch(
        f"""SELECT {REQUEST_COLUMNS} FROM swap_requests
            WHERE ($1::text IS NULL OR status = $1)
              AND ($2::text IS NULL OR from_member_id = $2 OR to_member_id = $2)
              AND ($3::text IS NULL OR request_id > $3)
            ORDER BY request_id LIMIT $4""", status, member_id, after, limit)
    return [_request(r) for r in rows]


async def record_override(conn: asyncpg.Connection, override_id: str, shift_id: str, *, removed: str | None,
                          added: str | None, request_id: str | None, reason: str, by: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO overrides (override_id, shift_id, removed_member_id, added_member_id, swap_request_id, reason,"
        " set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        override_id, shift_id, removed, added, request_id, reason, by, now)


async def last_change(conn: asyncpg.Connection, period_id: str) -> datetime | None:
    """When a crew of the period last changed by a swap or an override (None: never)."""
    at: datetime | None = await conn.fetchval(
        "SELECT max(set_at) FROM overrides o JOIN shifts s USING (shift_id) WHERE s.period_id = $1", period_id)
    return at
