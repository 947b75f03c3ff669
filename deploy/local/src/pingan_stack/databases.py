"""Create the per-service databases on a server (embedded or external)."""

from __future__ import annotations

import asyncpg


def quoted(name: str) -> str:
    """A database name as an SQL identifier (CREATE/DROP DATABASE take no parameters)."""
    return '"' + name.replace('"', '""') + '"'


async def ensure_database(server_url: str, name: str) -> bool:
    """Create ``name`` if missing; True when it was created."""
    conn = await asyncpg.connect(server_url)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f"CREATE DATABASE {quoted(name)} ENCODING 'UTF8' TEMPLATE template0")
        return True
    finally:
        await conn.close()
