"""SQL of ``audit``: appended to in the transaction of what it records, read newest first. ``detail`` is jsonb,
encoded and decoded by the pool's codecs (``pingan_shared.db.pool``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from console.domain.audit import AuditEntry, AuditKind


async def append(conn: asyncpg.Connection, kind: AuditKind, *, at: datetime, actor: str | None,
                 account: str | None, address: str | None, detail: dict[str, Any] | None = None) -> None:
    await conn.execute("INSERT INTO audit (at, kind, actor, account, address, detail) "
                       "VALUES ($1, $2, $3, $4, $5, $6)", at, kind.value, actor, account, address, detail or {})


async def listing(conn: asyncpg.Connection, *, account: str | None, kind: AuditKind | None, limit: int,
                  before_id: int | None) -> list[AuditEntry]:
    """Newest first: the entries before ``before_id`` (the previous page's last), of one account (as actor or as
    the account concerned) and of one kind."""
    rows = await conn.fetch(
        "SELECT id, at, kind, actor, account, address, detail FROM audit "
        "WHERE ($1::text IS NULL OR account = $1 OR actor = $1) AND ($2::text IS NULL OR kind = $2) "
        "AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        account, kind.value if kind else None, before_id, limit)
    return [AuditEntry(r["id"], r["at"], AuditKind(r["kind"]), r["actor"], r["account"], r["address"],
                       r["detail"]) for r in rows]
