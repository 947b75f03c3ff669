"""The signals applied per dedup key and producer: the highest sequence applied (the per-key ordering rule)."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def lock_key(conn: asyncpg.Connection, dedup_key: str) -> None:
    """Serialise every signal of one dedup key, whoever sends it (Kafka and HTTP): two could otherwise both find
    no open alert and race for the one the database allows."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 8420))", dedup_key)


async def last_sequence(conn: asyncpg.Connection, dedup_key: str, producer: str) -> int | None:
    value: int | None = await conn.fetchval(
        "SELECT last_sequence FROM alert_signal_keys WHERE dedup_key = $1 AND producer = $2", dedup_key, producer)
    return value


async def record(conn: asyncpg.Connection, dedup_key: str, producer: str, *, sequence: int | None, action: str,
                 at: datetime) -> None:
    await conn.execute(
        """
        INSERT INTO alert_signal_keys AS k (dedup_key, producer, last_sequence, last_action, updated_at)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (dedup_key, producer) DO UPDATE
        SET last_sequence = CASE WHEN EXCLUDED.last_sequence IS NULL THEN k.last_sequence
                                 ELSE greatest(coalesce(k.last_sequence, 0), EXCLUDED.last_sequence) END,
            last_action = EXCLUDED.last_action, updated_at = EXCLUDED.updated_at
        """,
        dedup_key, producer, sequence, action, at,
    )
