"""Fixtures of the alerts tests over the real database and broker (shared by the escalation and delivery tests).

Delivery (test_delivery_*.py): ``delivery_pool`` — a fresh database with every alerts migration;
``add_contact`` — ``await add_contact(conn, "person:张三", email=…)`` writes a directory entry;
``delivery_service`` — ``await delivery_service(**settings)`` starts the service (fast delivery settings) behind
``delivery_clock``; ``webhook_receiver`` — ``await webhook_receiver(fail_first=2)``; ``make_notification``.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest

from pingan_shared.db.migrations import apply_migrations, load_migrations, platform_migrations
from pingan_shared.db.pool import create_pool


@pytest.fixture
async def delivery_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database with the platform tables and every alerts migration."""
    pool = await create_pool(database_url, max_size=10)
    async with pool.acquire() as conn:
        await apply_migrations(conn, [*platform_migrations(), *load_migrations("alerts", "alerts")])
    yield pool
    await pool.close()


async def _add_contact(conn: asyncpg.Connection, target: str, *, name: str | None = None, subject: str | None = None,
                      email: str | None = None, webhook_url: str | None = None, secrets: Sequence[str] = (),
                      locale: str = "zh", members: Sequence[str] = ()) -> None:
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO contacts (target, display_name, subject, locale, email, webhook_url, webhook_secrets,"
        " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        target, name or target.split(":", 1)[1], subject, locale, email, webhook_url, list(secrets), now)
    for member in members:
        await conn.execute("INSERT INTO contact_members (group_target, member_target) VALUES ($1, $2)",
                           target, member)


AddContact = Callable[..., Awaitable[None]]


@pytest.fixture
def add_contact() -> AddContact:
    return _add_contact


# The escalation side's fixtures (alerts_factory, alerts_service, escalation_clock): see escalation_harness.py.
# The delivery side's fixtures (delivery_service, delivery_clock, webhook_receiver, make_notification): see
# delivery_harness.py.
from .delivery_harness import (  # noqa: E402, F401
    delivery_clock,
    delivery_service,
    make_notification,
    webhook_receiver,
)
from .escalation_harness import alerts_factory, alerts_service, escalation_clock  # noqa: E402, F401
