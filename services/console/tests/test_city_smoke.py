"""The city stack the journeys run on: the console signs a person in over a real port and calls each of the four
services as that person over real HTTP (the readiness page lists them all ready)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import Page, expect

from pingan_shared.clock import FixedClock
from pingan_stack.test_databases import TestDatabases

from .city import SERVICES, City, running_city, sign_in

pytestmark = pytest.mark.browser
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def city(test_databases: TestDatabases, kafka_bootstrap_servers: str) -> AsyncIterator[City]:
    async with running_city(test_databases, kafka_bootstrap_servers, FixedClock(START)) as running:
        await running.add_account("ops", "admin", display_name="运维值班员")
        yield running


async def test_an_admin_signs_in_and_sees_every_service_ready(city: City, page: Page) -> None:
    await sign_in(page, city, "ops")
    await expect(page.locator("body")).to_contain_text("运维值班员")
    await page.goto(f"{city.url}/admin/services")
    for name in SERVICES:
        await expect(page.locator("body")).to_contain_text(name)
    assert "ready" in (await page.content()).lower() or "就绪" in await page.content()
