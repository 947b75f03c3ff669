"""Fixtures for inspection's tests over the real broker and database, with a clock the test moves.

``inspection`` is one in-process service (fresh database, fresh topic prefix) behind a ``FixedClock`` and a
timer poll of 50 ms, so a 28-day cycle runs in seconds: move the clock, then wait for the state the timers
must reach. ``inspection_factory`` makes more of them (a twin with the same story but no findings, for the
sealing comparison). A harness can be stopped and started again on the same database (a restart spanning a
deadline). Tokens are issued at the clock's "now" (they are judged by the service's clock, valid 12 h).

Helpers read what the service published: ``outbox()`` (every row its database ever enqueued, sent or not) and
``topic_events()`` (what really reached the broker on a topic, as envelopes).

Every database starts with the test city in inspection's copy of the directory (``pingan_stack.sample_directory``):
a unit is an organisation of the directory, so the units the tests register are there (``test-units.csv``).
``database_url`` is such a database too, for the tests that bootstrap the service themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import pytest

from inspection.bootstrap import bootstrap
from inspection.context import InspectionContext
from inspection.settings import InspectionSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import (
    TOPIC_INSPECTION_CYCLES,
    TOPIC_INSPECTION_NOTICES,
    TOPIC_INSPECTION_TASKS,
    signal_topic,
)
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ZONE, ServiceHarness, harnesses, local
from pingan_stack.test_databases import WITH_DIRECTORY

__all__ = ["INSPECTOR_NAME", "MEMBER_NAME", "ZONE", "Inspection", "local"]

INSPECTION_TOPICS = (TOPIC_INSPECTION_CYCLES, TOPIC_INSPECTION_NOTICES, TOPIC_INSPECTION_TASKS,
                     signal_topic("inspection"),
                     "deadletter.inspection")
INSPECTOR_NAME = "暗访检查员王五"
MEMBER_NAME = "监督团成员李娜"


class Inspection(ServiceHarness[InspectionContext]):
    """One inspection service in-process, its clock, its database and its topics."""

    state_attribute = "inspection"
    with_directory = True

    def build(self) -> Service:
        settings = InspectionSettings(database_url=self.database_url, **self.settings)
        return bootstrap(platform=self.platform, settings=settings, clock=self.clock)

    # --- who ---------------------------------------------------------------------------------------

    @property
    def inspector(self) -> dict[str, str]:
        return self.auth(Role.INSPECTOR, INSPECTOR_NAME)

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "平安办管理员")

    @property
    def supervisor(self) -> dict[str, str]:
        return self.auth(Role.SUPERVISOR, "市委政法委督查室")

    def member(self, name: str = MEMBER_NAME) -> dict[str, str]:
        return self.auth(Role.SUPERVISION_MEMBER, name)

    def unit(self, unit_id: str) -> dict[str, str]:
        return self.auth(Role.UNIT, f"联络员-{unit_id}", unit=unit_id)

    # --- HTTP shortcuts ------------------------------------------------------------------------

    async def all_pages(self, path: str, headers: dict[str, str], params: dict[str, Any] | None = None,
                        limit: int = 500) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        after: Any = None
        for _ in range(1000):
            query = {**(params or {}), "limit": limit}
            if after is not None:
                query["after"] = after
            page = await self.ok("GET", path, headers, expect=200, params=query)
            items.extend(page["items"])
            after = page["next_after"]
            if after is None:
                return items
        raise AssertionError(f"{path}: paging never ended")

    async def cycle(self, cycle_id: str) -> dict[str, Any]:
        return await self.ok("GET", f"/v1/cycles/{cycle_id}", self.inspector, expect=200)

    async def wait_phase(self, cycle_id: str, phase: str, timeout: float = 30) -> dict[str, Any]:
        async def reached() -> bool:
            return (await self.cycle(cycle_id))["phase"] == phase
        await self.until(reached, f"cycle {cycle_id} in phase {phase}", timeout)
        return await self.cycle(cycle_id)

    # --- what was published ----------------------------------------------------------------------

    async def all_inspection_events(self) -> dict[str, list[dict[str, Any]]]:
        await self.drained()
        return {name: await self.topic_events(name, settle=0.5) for name in INSPECTION_TOPICS}


@pytest.fixture
async def inspection_factory(database_factory: Any, platform_settings: PlatformSettings,
                             ) -> AsyncIterator[Callable[..., Awaitable[Inspection]]]:
    """``await inspection_factory(clock)``: a started service on a fresh database and a fresh topic prefix."""
    async with harnesses(Inspection, database_factory, platform_settings) as make:
        yield make


@pytest.fixture
async def database_url(database_factory: Callable[..., Awaitable[str]]) -> str:
    """A fresh database with inspection's tables and the test city in its copy of the directory (dropped at the
    end): what the tests that bootstrap the service themselves start from."""
    return await database_factory(template="inspection" + WITH_DIRECTORY)


@pytest.fixture
def clock() -> FixedClock:
    """The evening before a Monday cycle start: 2026-03-01 10:00 Asia/Shanghai."""
    return FixedClock(local(date(2026, 3, 1), 10))


@pytest.fixture
async def inspection(inspection_factory: Callable[..., Awaitable[Inspection]], clock: FixedClock) -> Inspection:
    return await inspection_factory(clock)
