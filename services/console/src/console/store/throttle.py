"""SQL of ``signin_failures``: the sign-in throttle's count."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def record(conn: asyncpg.Connection, username: str, address: str, at: datetime) -> None:
    await conn.execute("INSERT INTO signin_failures (username, address, failed_at) VALUES ($1, $2, $3)",
                       username, address, at)


async def of_account(conn: asyncpg.Connection, username: str, since: datetime) -> list[datetime]:
    rows = await conn.fetch("SELECT failed_at FROM signin_failures WHERE username = $1 AND failed_at > $2",
                            username, since)
    return [r["failed_at"] for r in rows]


async def of_address(conn: asyncpg.Connection, address: str, since: datetime) -> list[datetime]:
    rows = await conn.fetch("SELECT failed_at FROM signin_failures WHERE address = $1 AND failed_at > $2",
                            address, since)
    return [r["failed_at"] for r in rows]


async def forget_account(conn: asyncpg.Connection, username: str) -> None:
    """A successful sign-in (or an admin's password reset) starts the account's count again; the address's stays."""
    await conn.execute("DELETE FROM signin_failures WHERE username = $1", username)


async def delete_older_than(conn: asyncpg.Connection, before: datetime) -> int:
    done = await conn.fetch("DELETE FROM signin_failures WHERE failed_at <= $1 RETURNING 1", before)
    return len(done)
