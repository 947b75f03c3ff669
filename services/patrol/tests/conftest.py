"""Fixtures for patrol's round tests over the real broker and database, with a clock the test moves.

``patrol`` is one in-process service (fresh database, fresh topic prefix) behind a ``FixedClock`` and a timer
poll of 50 ms, so a night runs in seconds: move the clock, then wait for the state the timers and the rounds
consumer must reach. A harness can be stopped and started again on the same database (a restart spanning a
window's close). Tokens are issued at the clock's "now".

Helpers read what the service published: ``outbox()`` (every row its database ever enqueued) and ``signals()``
(the alert signals among them, as (action, dedup key) pairs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from typing import Any

import pytest

from patrol.bootstrap import bootstrap
from patrol.context import PatrolContext
from patrol.live.settings import LiveCoverageSettings
from patrol.settings import PatrolSettings
from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ZONE, ServiceHarness, harnesses, local

__all__ = ["ZONE", "Patrol", "local"]


class Patrol(ServiceHarness[PatrolContext]):
    """One patrol service in-process, its clock, its database and its topics."""

    state_attribute = "patrol"
    with_directory = True

    def build(self) -> Service:
        # The live-coverage stream app (faust, with its own consumer thread) is off unless a test asks for it
        # (``live=True``): these tests are about the record, and test_live_coverage.py runs the stream app with
        # its own harness. Starting and stopping a faust app for every test cost seconds each, and a stop that
        # raced the app's start could leave its thread waiting, holding the session's event loop at close.
        settings = dict(self.settings)
        live = LiveCoverageSettings(enabled=bool(settings.pop("live", False)))
        return bootstrap(platform=self.platform, settings=PatrolSettings(database_url=self.database_url, **settings),
                         clock=self.clock, live=live)

    # --- who ---------------------------------------------------------------------------------------

    @property
    def organiser(self) -> dict[str, str]:
        return self.auth(Role.ORGANISER, "瑞安市平安办")

    @property
    def supervisor(self) -> dict[str, str]:
        return self.auth(Role.SUPERVISOR, "市委政法委督查室")

    def device(self, team: str) -> dict[str, str]:
        return self.auth(Role.PATROL_DEVICE, f"device-{team}", team=team)

    # --- HTTP shortcuts ------------------------------------------------------------------------

    async def scan(self, team: str, scan_id: str, checkpoint_id: str, at: datetime, member: str = "张三") -> None:
        body = {"scan_id": scan_id, "member_id": member, "team_id": team, "checkpoint_id": checkpoint_id,
                "device_time": at.isoformat()}
        await self.ok("POST", "/v1/scans", self.device(team), json=body, expect=201)

    async def scans(self, team: str, items: list[tuple[str, str, datetime]], member: str = "张三") -> dict[str, Any]:
        body = {"scans": [{"scan_id": s, "member_id": member, "team_id": team, "checkpoint_id": c,
                           "device_time": t.isoformat()} for s, c, t in items]}
        answer: dict[str, Any] = await self.ok("POST", "/v1/scans", self.device(team), json=body, expect=200)
        return answer

    # --- what is stored and published ------------------------------------------------------------

    async def outbox(self, type_prefix: str = "") -> list[dict[str, Any]]:
        """Every event this service enqueued (sent or not) whose type starts with ``type_prefix``, oldest first,
        as envelope dicts with ``topic``."""
        return [e for e in await super().outbox() if e["type"].startswith(type_prefix)]

    async def signals(self) -> list[tuple[str, str]]:
        return [(e["payload"]["action"], e["payload"]["dedup_key"]) for e in await self.outbox("alerts.signal")]

    async def attached(self) -> int:
        async with self.db() as conn:
            count: int = await conn.fetchval("SELECT count(*) FROM round_scans")
        return count


@pytest.fixture
async def patrol_factory(database_factory: Any, platform_settings: PlatformSettings,
                         ) -> AsyncIterator[Callable[..., Awaitable[Patrol]]]:
    """``await patrol_factory(clock, **settings)``: a started service on a fresh database and topic prefix."""
    async with harnesses(Patrol, database_factory, platform_settings) as make:
        yield make


@pytest.fixture
def clock() -> FixedClock:
    """An afternoon before tonight's patrols: 2026-03-02 16:00 Asia/Shanghai."""
    return FixedClock(local(date(2026, 3, 2), 16))


@pytest.fixture
async def patrol(patrol_factory: Callable[..., Awaitable[Patrol]], clock: FixedClock) -> Patrol:
    return await patrol_factory(clock)
