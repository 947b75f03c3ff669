from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from pingan_shared.db.migrations import apply_migrations, platform_migrations
from pingan_shared.db.pool import create_pool
from pingan_shared.metrics import Metrics


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the platform tables (outbox, inbox, timers)."""
    pool = await create_pool(database_url, max_size=10)
    async with pool.acquire() as conn:
        await apply_migrations(conn, platform_migrations())
    yield pool
    await pool.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics("test")
