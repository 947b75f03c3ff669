from __future__ import annotations

import asyncio

import asyncpg
import pytest

from pingan_shared.db.migrations import (
    Migration,
    MigrationError,
    apply_migrations,
    load_migrations,
    pending_migrations,
    platform_migrations,
)


def test_platform_migrations_are_ordered_and_named() -> None:
    migrations = platform_migrations()
    assert [m.version for m in migrations] == sorted(m.version for m in migrations)
    assert migrations[0].component == "platform"


def test_every_service_has_migrations() -> None:
    for service in ("patrol", "roster", "inspection", "alerts"):
        assert load_migrations(service, service), service


async def test_apply_is_idempotent_and_concurrent_runners_wait(database_url: str) -> None:
    migrations = [
        *platform_migrations(),
        Migration("demo", 1, "first", "CREATE TABLE demo (id int PRIMARY KEY)"),
        Migration("demo", 2, "second", "ALTER TABLE demo ADD COLUMN 名称 text"),
    ]
    connections = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(apply_migrations(c, migrations) for c in connections))
        # the advisory lock serialises the runners: exactly one applied everything
        assert sorted(len(a) for a in applied) == [0, 0, len(migrations)]
        assert await pending_migrations(connections[0], migrations) == []
        await connections[0].execute("INSERT INTO demo (id, 名称) VALUES (1, '平安')")
    finally:
        for c in connections:
            await c.close()


async def test_changed_applied_migration_is_refused(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn, [Migration("demo", 1, "first", "CREATE TABLE demo (id int)")])
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, [Migration("demo", 1, "first", "CREATE TABLE demo (id bigint)")])
    finally:
        await conn.close()


async def test_failed_migration_rolls_back_and_is_not_recorded(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        broken = Migration("demo", 1, "broken", "CREATE TABLE half (id int); SELECT no_such_function();")
        with pytest.raises(asyncpg.PostgresError):
            await apply_migrations(conn, [broken])
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert await pending_migrations(conn, [broken]) == [broken]
    finally:
        await conn.close()
