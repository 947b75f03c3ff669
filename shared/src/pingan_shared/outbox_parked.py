"""Outbox rows the relay parked, and handing one back: what an operator lists and retries (``pingan outbox
parked|retry``, and every service's ``/v1/operations/outbox/parked``). The relay that parks them is
``pingan_shared.messaging.outbox``; a parked row is kept with its error and never purged.

Reading takes no lock the relay needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class ParkedRow:
    id: int
    topic: str
    key: str
    sequence: int | None
    event_id: str
    event_type: str
    size: int  # the encoded envelope's bytes: what a broker's size limit judged
    created_at: datetime
    parked_at: datetime
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "topic": self.topic, "key": self.key, "sequence": self.sequence,
                "event_id": self.event_id, "event_type": self.event_type, "size": self.size,
                "created_at": self.created_at.isoformat(), "parked_at": self.parked_at.isoformat(),
                "error": self.error}

    def as_json(self, service: str) -> str:
        return json.dumps({"service": service, **self.as_dict()}, ensure_ascii=False)

    def line(self) -> str:
        sequence = f" #{self.sequence}" if self.sequence is not None else ""
        return (f"  id {self.id}  parked {self.parked_at.isoformat(timespec='seconds')}  {self.topic}  "
                f"key {self.key}{sequence}  {self.event_type} {self.event_id}  {self.size} bytes\n"
                f"    error: {self.error}")


async def parked_rows(conn: asyncpg.Connection, *, limit: int, after: int | None = None) -> list[ParkedRow]:
    """The oldest ``limit`` parked rows (after row ``after``, for the next page), oldest first."""
    rows = await conn.fetch(
        """
        SELECT id, topic, key, sequence, event_id::text, event_type, octet_length(value) AS size, created_at,
               parked_at, parked_error
        FROM outbox WHERE parked_at IS NOT NULL AND id > $2 ORDER BY id LIMIT $1
        """,
        limit, after or 0,
    )
    return [ParkedRow(r["id"], r["topic"], r["key"], r["sequence"], r["event_id"], r["event_type"], r["size"],
                      r["created_at"], r["parked_at"], r["parked_error"]) for r in rows]


async def unpark(conn: asyncpg.Connection, ids: Sequence[int]) -> list[int]:
    """Hand parked rows back to the relay: its next batch sends them (it reads unsent rows in id order).
    The rows written after them were normally published long ago, so a retried row reaches its topic after
    them; consumers place it by its sequence (a stale transition is ignored). Returns the ids that were
    parked. The notification wakes the relay at once."""
    async with conn.transaction():
        rows = await conn.fetch(
            """
            UPDATE outbox SET parked_at = NULL, parked_error = NULL
            WHERE id = ANY($1::bigint[]) AND parked_at IS NOT NULL AND sent_at IS NULL RETURNING id
            """,
            list(ids),
        )
        await conn.execute("SELECT pg_notify('outbox', '')")
    return sorted(r["id"] for r in rows)
