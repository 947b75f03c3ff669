"""A small runner of ordered SQL files.

Why not a library: yoyo/alembic need a synchronous driver and bring an ORM-shaped model; the
services speak asyncpg and plain SQL. The runner is deliberately small and tested:

* migrations are ``NNNN_name.sql`` files in a package directory, applied in order, each in its
  own transaction, recorded in ``schema_migrations`` with a checksum;
* every service database also gets the platform set (outbox, inbox, timers) as component
  ``platform``;
* a session advisory lock makes concurrent replicas wait instead of racing;
* an applied file whose content changed is an error: published migrations are immutable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_ID = 0x50494E47  # "PING": one advisory lock for all migration runs in a database


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(component: str, package: str, directory: str = "migrations") -> list[Migration]:
    root: Traversable = resources.files(package).joinpath(directory)
    found: list[Migration] = []
    for entry in root.iterdir():
        match = _FILE_PATTERN.match(entry.name)
        if match is None:
            if entry.name.endswith(".sql"):
                raise MigrationError(f"{component}: {entry.name} does not match NNNN_name.sql")
            continue
        found.append(Migration(component, int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"{component}: two migrations share a version number")
    return found


def platform_migrations() -> list[Migration]:
    return load_migrations("platform", "pingan_shared.db")


_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


async def _applied(conn: asyncpg.Connection) -> dict[tuple[str, int], str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
    return {(r["component"], r["version"]): r["checksum"] for r in rows}


def _verify(migrations: list[Migration], applied: dict[tuple[str, int], str]) -> list[Migration]:
    pending = []
    for migration in migrations:
        checksum = applied.get((migration.component, migration.version))
        if checksum is None:
            pending.append(migration)
        elif checksum != migration.checksum:
            raise MigrationError(
                f"{migration.component} migration {migration.version:04d}_{migration.name} was changed "
                "after it was applied; add a new migration instead"
            )
    return pending


async def pending_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    return _verify(migrations, await _applied(conn))


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    """Apply what is pending; returns the migrations applied by this call."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(_CREATE_LEDGER)
        pending = _verify(migrations, await _applied(conn))
        for migration in pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
                    migration.component, migration.version, migration.name, migration.checksum,
                )
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
