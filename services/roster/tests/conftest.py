"""Fixtures for roster's tests over the real broker and database, with a clock the test moves.

``roster`` is one in-process service (fresh database, fresh topic prefix) behind a ``FixedClock`` and a timer poll
of 50 ms: move the clock, then wait for the state the timers must reach. A harness can be stopped and started
again on the same database (a restart spanning a deadline). Tokens are issued at the clock's "now".

Attendance tests build their roster straight in the tables (``seed_*``) and publish it the way publishing does
(``publish_shifts``: status published and ``roster.presence.schedule_checks`` in one transaction).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any

import pytest

from pingan_shared.auth import Role
from pingan_shared.service import Service
from pingan_shared.settings import PlatformSettings
from pingan_stack.service_harness import ZONE, ServiceHarness, harnesses, local
from roster import presence, publishing
from roster.bootstrap import bootstrap
from roster.context import RosterContext
from roster.settings import RosterSettings

__all__ = ["ZONE", "Roster", "local"]


class Roster(ServiceHarness[RosterContext]):
    """One roster service in-process, its clock, its database and its topics; its directory holds the test city
    (a duty's area and team are checked against it)."""

    state_attribute = "roster"
    topic_settle = 0.5
    with_directory = True

    def build(self) -> Service:
        settings = RosterSettings(database_url=self.database_url, **self.settings)
        return bootstrap(platform=self.platform, settings=settings, clock=self.clock)

    # --- who ---------------------------------------------------------------------------------------

    @property
    def organiser(self) -> dict[str, str]:
        return self.auth(Role.ORGANISER, "平安办组织者")

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.ADMIN, "管理员")

    def member(self, member_id: str) -> dict[str, str]:
        return self.auth(Role.MEMBER, member_id)

    # --- the database --------------------------------------------------------------------------------

    async def outbox(self, type_name: str | None = None) -> list[dict[str, Any]]:
        """Every event this service enqueued (sent or not), of type ``type_name`` if given, oldest first, as
        envelope dicts with ``topic``."""
        return [e for e in await super().outbox() if type_name is None or e["type"] == type_name]

    # --- a roster built in the tables ------------------------------------------------------------------

    async def seed_members(self, org_id: str, members: Sequence[dict[str, Any]], *,
                           org_kind: str = "village-patrol-team") -> None:
        """An organisation and its members: dicts with member_id, name and optionally role, team_id,
        app_member_id."""
        now = self.clock.now()
        async with self.db() as conn:
            await conn.execute("INSERT INTO organisations (org_id, name, kind, created_at) VALUES ($1, $2, $3, $4) "
                               "ON CONFLICT DO NOTHING", org_id, f"{org_id}组织", org_kind, now)
            for m in members:
                await conn.execute(
                    "INSERT INTO members (member_id, name, org_id, role, team_id, app_member_id, created_at, "
                    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    m["member_id"], m["name"], org_id, m.get("role", "patrol-member"), m.get("team_id"),
                    m.get("app_member_id"), now)

    async def seed_period(self, period_id: str, starts_on: date, ends_on: date, *,
                          programme_id: str = "P-塘下") -> None:
        now = self.clock.now()
        async with self.db() as conn:
            await conn.execute("INSERT INTO programmes (programme_id, name, level, area, created_at) "
                               "VALUES ($1, '塘下镇轮值轮训', 'township', '塘下镇', $2) ON CONFLICT DO NOTHING",
                               programme_id, now)
            await conn.execute("INSERT INTO periods (period_id, programme_id, name, starts_on, ends_on, created_at) "
                               "VALUES ($1, $2, $1, $3, $4, $5)", period_id, programme_id, starts_on, ends_on, now)

    async def seed_shift(self, shift_id: str, period_id: str, starts_at: datetime, ends_at: datetime,
                         members: Sequence[str], *, kind: str = "road-patrol", title: str = "塘下镇夜间巡逻",
                         area: str | None = "塘下镇", route_id: str | None = "R-1",
                         team_id: str | None = None) -> None:
        """A planned shift (one duty of its own) with its assignees."""
        now = self.clock.now()
        start_local, end_local = starts_at.astimezone(ZONE), ends_at.astimezone(ZONE)
        async with self.db() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO duties (duty_id, period_id, kind, title, area, route_id, team_id, start_time, end_time, "
                "required_size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                f"D-{shift_id}", period_id, kind, title, area, route_id, team_id, start_local.time(),
                end_local.time(), max(1, len(members)), now)
            await conn.execute(
                "INSERT INTO shifts (shift_id, period_id, duty_id, day, kind, title, area, route_id, team_id, "
                "starts_at, ends_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                shift_id, period_id, f"D-{shift_id}", start_local.date(), kind, title, area, route_id, team_id,
                starts_at, ends_at, now)
            for member_id in members:
                await conn.execute("INSERT INTO shift_assignments (shift_id, member_id, roster_version, source, "
                                   "assigned_at) VALUES ($1, $2, 1, 'solver', $3)", shift_id, member_id, now)

    async def publish_shifts(self, shift_ids: Sequence[str]) -> None:
        """What publishing does for attendance: the shifts published and their checks armed, in one transaction."""
        async with self.service.runtime.connection() as conn, conn.transaction():
            await conn.execute("UPDATE shifts SET status = 'published', roster_version = 1, updated_at = $2 "
                               "WHERE shift_id = ANY($1::text[])", list(shift_ids), self.clock.now())
            await presence.schedule_checks(conn, self.ctx, shift_ids)

    async def publish_draft(self, period_id: str, draft_id: str, crews: dict[str, Sequence[str]]
                            ) -> publishing.Published:
        """A draft of the period with these crews, as a finished solve left it, published by the real use case."""
        now = self.clock.now()
        async with self.service.runtime.connection() as conn, conn.transaction():
            await conn.execute("INSERT INTO solve_jobs (job_id, period_id, status, time_limit_s, requested_by, "
                               "requested_at) VALUES ($1, $2, 'done', 1, 'test', $3)", f"J-{draft_id}", period_id,
                               now)
            await conn.execute("INSERT INTO roster_drafts (draft_id, period_id, job_id, created_at) "
                               "VALUES ($1, $2, $3, $4)", draft_id, period_id, f"J-{draft_id}", now)
            for shift_id, crew in crews.items():
                for member_id in crew:
                    await conn.execute("INSERT INTO draft_assignments VALUES ($1, $2, $3)", draft_id, shift_id,
                                       member_id)
            return await publishing.publish(conn, self.ctx, draft_id)

    async def presence_row(self, shift_id: str, member_id: str) -> dict[str, Any] | None:
        async with self.db() as conn:
            row = await conn.fetchrow("SELECT * FROM shift_presence WHERE shift_id = $1 AND member_id = $2",
                                      shift_id, member_id)
        return dict(row) if row is not None else None


class RosterOfNoCity(Roster):
    """A roster whose directory is empty, for the tests of loading it."""

    with_directory = False


@pytest.fixture
async def empty_directory_roster_factory(database_factory: Any, platform_settings: PlatformSettings,
                                         ) -> AsyncIterator[Callable[..., Awaitable[Roster]]]:
    async with harnesses(RosterOfNoCity, database_factory, platform_settings) as make:
        yield make


@pytest.fixture
async def roster_factory(database_factory: Any, platform_settings: PlatformSettings,
                         ) -> AsyncIterator[Callable[..., Awaitable[Roster]]]:
    """``await roster_factory(clock, **settings)``: a started service on a fresh database and topic prefix."""
    async with harnesses(Roster, database_factory, platform_settings) as make:
        yield make
