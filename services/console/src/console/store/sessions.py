"""SQL of ``sessions`` (keyed by the SHA-256 of the cookie's id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class StoredSession:
    username: str
    created_at: datetime
    last_seen_at: datetime


async def insert(conn: asyncpg.Connection, id_hash: bytes, username: str, now: datetime, address: str) -> None:
    await conn.execute("INSERT INTO sessions (id_hash, username, created_at, last_seen_at, address) "
                       "VALUES ($1, $2, $3, $3, $4)", id_hash, username, now, address)


async def get(conn: asyncpg.Connection, id_hash: bytes) -> StoredSession | None:
    row = await conn.fetchrow("SELECT username, created_at, last_seen_at FROM sessions WHERE id_hash = $1", id_hash)
    return None if row is None else StoredSession(row["username"], row["created_at"], row["last_seen_at"])


async def touch(conn: asyncpg.Connection, id_hash: bytes, now: datetime) -> None:
    await conn.execute("UPDATE sessions SET last_seen_at = greatest(last_seen_at, $2) WHERE id_hash = $1",
                       id_hash, now)


async def delete(conn: asyncpg.Connection, id_hash: bytes) -> str | None:
    """The account whose session it was, or None if there was none."""
    username: str | None = await conn.fetchval("DELETE FROM sessions WHERE id_hash = $1 RETURNING username", id_hash)
    return username


async def delete_of_account(conn: asyncpg.Connection, username: str) -> int:
    """End every session of ``username`` (disabled, password reset, role changed); how many there were."""
    done = await conn.fetch("DELETE FROM sessions WHERE username = $1 RETURNING 1", username)
    return len(done)


async def delete_expired(conn: asyncpg.Connection, *, idle_before: datetime, created_before: datetime) -> int:
    done = await conn.fetch("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2 RETURNING 1",
                            idle_before, created_before)
    return len(done)
