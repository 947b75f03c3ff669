"""The contacts directory's tables (``contacts``, ``contact_members``): ``Contact`` out for delivery, and the
rows the admins' API shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from alerts.domain.contacts import Contact

_CONTACT_COLUMNS = "target, display_name, subject, locale, email, webhook_url, webhook_secrets"


async def load(conn: asyncpg.Connection, targets: Sequence[str]) -> dict[str, Contact]:
    rows = await conn.fetch(f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE target = ANY($1::text[])", list(targets))
    return {row["target"]: Contact.from_row(row) for row in rows}


async def resolve(conn: asyncpg.Connection, targets: Sequence[str]) -> dict[str, list[Contact]]:
    """Each known target → the contacts it stands for: itself first, then (for a group) its members. One query:
    this runs inside every escalation step's transaction."""
    rows = await conn.fetch(
        f"SELECT c.target AS for_target, 0 AS position, c.{_CONTACT_COLUMNS.replace(', ', ', c.')}"
        " FROM contacts c WHERE c.target = ANY($1::text[])"
        " UNION ALL"
        f" SELECT m.group_target, 1, c.{_CONTACT_COLUMNS.replace(', ', ', c.')}"
        " FROM contact_members m JOIN contacts c ON c.target = m.member_target"
        " WHERE m.group_target = ANY($1::text[])"
        " ORDER BY 1, 2, 3",
        list(dict.fromkeys(targets)))
    resolved: dict[str, list[Contact]] = {}
    for row in rows:
        resolved.setdefault(row["for_target"], []).append(Contact.from_row(row))
    return resolved


async def known(conn: asyncpg.Connection, targets: Sequence[str]) -> set[str]:
    """Those of ``targets`` the directory holds."""
    return {r["target"] for r in await conn.fetch("SELECT target FROM contacts WHERE target = ANY($1::text[])",
                                                  list(targets))}


async def subject_owner(conn: asyncpg.Connection, subject: str, *, other_than: str) -> str | None:
    """The contact other than ``other_than`` whose inbox ``subject`` is, if any."""
    owner: str | None = await conn.fetchval("SELECT target FROM contacts WHERE subject = $1 AND target <> $2",
                                            subject, other_than)
    return owner


async def upsert(conn: asyncpg.Connection, target: str, *, display_name: str, subject: str | None, locale: str,
                 email: str | None, webhook_url: str | None, webhook_secrets: Sequence[str] | None,
                 members: Sequence[str], now: datetime) -> bool:
    """Create or replace a contact and its members (``webhook_secrets`` None: an existing contact keeps its own, a
    new one has none); True when it existed before."""
    existed = await conn.fetchval("SELECT true FROM contacts WHERE target = $1 FOR UPDATE", target)
    await conn.execute(
        "INSERT INTO contacts (target, display_name, subject, locale, email, webhook_url, webhook_secrets,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7::text[], '{}'), $8, $8)"
        " ON CONFLICT (target) DO UPDATE SET display_name = $2, subject = $3, locale = $4, email = $5,"
        " webhook_url = $6, webhook_secrets = COALESCE($7::text[], contacts.webhook_secrets), updated_at = $8",
        target, display_name, subject, locale, email, webhook_url,
        None if webhook_secrets is None else list(webhook_secrets), now)
    await conn.execute("DELETE FROM contact_members WHERE group_target = $1", target)
    if members:
        await conn.executemany("INSERT INTO contact_members (group_target, member_target) VALUES ($1, $2)",
                               [(target, m) for m in members])
    return bool(existed)


async def get(conn: asyncpg.Connection, target: str) -> tuple[dict[str, Any], list[str]] | None:
    """The contact's row and its members."""
    row = await conn.fetchrow("SELECT * FROM contacts WHERE target = $1", target)
    if row is None:
        return None
    members = [r["member_target"] for r in await conn.fetch(
        "SELECT member_target FROM contact_members WHERE group_target = $1 ORDER BY member_target", target)]
    return dict(row), members


async def page(conn: asyncpg.Connection, *, kind: str | None, limit: int,
               after: str | None) -> list[tuple[dict[str, Any], list[str]]]:
    """Contacts in target order (``kind``: of that kind only), each with its members."""
    rows = await conn.fetch(
        "SELECT c.*, array(SELECT m.member_target FROM contact_members m WHERE m.group_target = c.target"
        " ORDER BY 1) AS members FROM contacts c"
        " WHERE ($1::text IS NULL OR c.target LIKE $1 || ':%') AND ($2::text IS NULL OR c.target > $2)"
        " ORDER BY c.target LIMIT $3", kind, after, limit)
    return [(dict(r), list(r["members"])) for r in rows]


async def delete(conn: asyncpg.Connection, target: str) -> bool:
    return await conn.fetchval("DELETE FROM contacts WHERE target = $1 RETURNING true", target) is not None


async def lock_secrets(conn: asyncpg.Connection, target: str) -> list[str] | None:
    """The contact's webhook secrets, its row locked; None when there is no such contact."""
    row = await conn.fetchrow("SELECT webhook_secrets FROM contacts WHERE target = $1 FOR UPDATE", target)
    return None if row is None else list(row["webhook_secrets"])


async def set_secrets(conn: asyncpg.Connection, target: str, secrets: Sequence[str], now: datetime) -> None:
    await conn.execute("UPDATE contacts SET webhook_secrets = $2, updated_at = $3 WHERE target = $1",
                       target, list(secrets), now)
