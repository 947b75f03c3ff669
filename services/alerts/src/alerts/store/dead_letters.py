"""SQL of delivery dead letters (``delivery_dead_letters``): the page an admin reads, and putting a dead letter's
message back to pending for a re-send.

A dead letter is one failure of one message (a re-sent message that fails again gets a new one); it is *open* until
re-sent. Locks are taken message first, then dead letter: the order in which the worker fails a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from alerts.store.deliveries import WAKE_CHANNEL


@dataclass(frozen=True)
class DeadLetter:
    id: int
    message_id: int
    idempotency_key: str
    recipient: str
    channel: str
    attempts: int
    reason: str
    failed_at: datetime
    resent_at: datetime | None
    resent_by: str | None
    message_status: str
    notifications: list[dict[str, Any]]


@dataclass(frozen=True)
class Filter:
    """Which dead letters: open ones only (``open``: True), resent ones only (False) or all (None)."""

    open: bool | None = True
    channel: str | None = None
    recipient: str | None = None
    alert_id: str | None = None


_NOTIFICATIONS = """
SELECT message_id, alert_id, dedup_key, kind, event, step_index, step_label, loop, target
  FROM deliveries WHERE message_id = ANY($1::bigint[]) ORDER BY due_at, id
"""

_SELECT = """
SELECT l.id, l.message_id, l.idempotency_key, l.recipient, l.channel, l.attempts, l.last_error, l.created_at,
       l.resent_at, l.resent_by, m.status AS message_status
  FROM delivery_dead_letters l JOIN delivery_messages m ON m.id = l.message_id
"""

_MATCHES = """
 WHERE ($1::boolean IS NULL OR (l.resent_at IS NULL) = $1)
   AND ($2::text IS NULL OR l.channel = $2)
   AND ($3::text IS NULL OR l.recipient = $3)
   AND ($4::text IS NULL OR l.alert_ids @> ARRAY[$4::text])
"""


async def _with_notifications(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> list[DeadLetter]:
    found = await conn.fetch(_NOTIFICATIONS, sorted({r["message_id"] for r in rows}))
    by_message: dict[int, list[dict[str, Any]]] = {}
    for n in found:
        by_message.setdefault(n["message_id"], []).append(
            {"alert_id": n["alert_id"], "dedup_key": n["dedup_key"], "kind": n["kind"], "event": n["event"],
             "step": n["step_index"], "label": n["step_label"], "loop": n["loop"], "target": n["target"]})
    return [DeadLetter(id=r["id"], message_id=r["message_id"], idempotency_key=r["idempotency_key"],
                       recipient=r["recipient"], channel=r["channel"], attempts=r["attempts"], reason=r["last_error"],
                       failed_at=r["created_at"], resent_at=r["resent_at"], resent_by=r["resent_by"],
                       message_status=r["message_status"], notifications=by_message.get(r["message_id"], []))
            for r in rows]


async def page(conn: asyncpg.Connection, which: Filter, *, limit: int, after: int | None) -> list[DeadLetter]:
    """Dead letters in id order (the order they failed), ``limit`` after ``after``."""
    rows = await conn.fetch(_SELECT + _MATCHES + " AND ($5::bigint IS NULL OR l.id > $5) ORDER BY l.id LIMIT $6",
                            which.open, which.channel, which.recipient, which.alert_id, after, limit)
    return await _with_notifications(conn, rows)


async def matching_ids(conn: asyncpg.Connection, which: Filter) -> list[int]:
    rows = await conn.fetch("SELECT l.id FROM delivery_dead_letters l" + _MATCHES + " ORDER BY l.id",
                            which.open, which.channel, which.recipient, which.alert_id)
    return [r["id"] for r in rows]


async def get(conn: asyncpg.Connection, dead_letter_id: int) -> DeadLetter | None:
    rows = await conn.fetch(_SELECT + " WHERE l.id = $1", dead_letter_id)
    found = await _with_notifications(conn, rows)
    return found[0] if found else None


async def lock(conn: asyncpg.Connection, dead_letter_id: int) -> DeadLetter | None:
    """The dead letter with its message and itself locked (message first, as the worker locks them)."""
    message_id = await conn.fetchval("SELECT message_id FROM delivery_dead_letters WHERE id = $1", dead_letter_id)
    if message_id is None:
        return None
    await conn.execute("SELECT 1 FROM delivery_messages WHERE id = $1 FOR UPDATE", message_id)
    await conn.execute("SELECT 1 FROM delivery_dead_letters WHERE id = $1 FOR UPDATE", dead_letter_id)
    return await get(conn, dead_letter_id)


async def resend(conn: asyncpg.Connection, letter: DeadLetter, *, by: str, now: datetime) -> None:
    """Put the locked, open dead letter's failed message back to pending, due now, with a fresh attempt budget (from
    the attempts it has had: their numbering goes on) and its same idempotency key; mark the dead letter re-sent;
    wake the workers on commit."""
    await conn.execute(
        "UPDATE delivery_messages SET status = 'pending', attempt_base = attempts, resent = resent + 1,"
        " next_attempt_at = $2, finished_at = NULL WHERE id = $1 AND status = 'failed'", letter.message_id, now)
    # Its notifications are in the message again (they had its final state copied onto them).
    await conn.execute("UPDATE deliveries SET status = 'bundled' WHERE message_id = $1", letter.message_id)
    await conn.execute("UPDATE delivery_dead_letters SET resent_at = $2, resent_by = $3 WHERE id = $1",
                       letter.id, now, by)
    await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
