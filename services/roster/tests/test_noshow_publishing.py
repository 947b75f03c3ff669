"""The no-show checks through roster's real publishing (``roster.publishing.publish``): publishing a draft arms one
check per shift member; a re-plan that takes a member off cancels theirs and a re-plan that empties a shift cancels
the shift's; a no-show fires only for the member still on a shift with no presence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest

from pingan_shared.clock import FixedClock
from roster.noshows import PRESENCE_CHECK

from .conftest import Roster, local

DAY = date(2026, 11, 22)


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    harness = await roster_factory(FixedClock(local(DAY, 9)))
    await harness.seed_members("ORG-塘下", [{"member_id": m, "name": n, "team_id": "一队"}
                                            for m, n in (("M-1", "张三"), ("M-2", "李四"), ("M-3", "王五"))])
    await harness.seed_period("期-47", DAY, DAY + timedelta(days=6))
    await harness.seed_shift("S-a", "期-47", local(DAY, 20), local(DAY, 23), [], team_id="一队")
    await harness.seed_shift("S-b", "期-47", local(DAY, 20), local(DAY, 23), [], team_id="一队")
    return harness


async def checks(roster: Roster) -> dict[str, str]:
    async with roster.db() as conn:
        rows = await conn.fetch("SELECT timer_key, status FROM timers WHERE kind = $1", PRESENCE_CHECK)
    return {r["timer_key"]: r["status"] for r in rows}


async def test_publishing_arms_the_checks_and_a_replan_moves_them(roster: Roster) -> None:
    first = await roster.publish_draft("期-47", "D-1", {"S-a": ["M-1", "M-2"], "S-b": ["M-3"]})
    assert (first.version, first.assigned) == (1, 2)
    assert await checks(roster) == {'["S-a", "M-1"]': "pending", '["S-a", "M-2"]': "pending",
                                    '["S-b", "M-3"]': "pending"}
    # version 2: 李四 off S-a, S-b left empty (cancelled)
    second = await roster.publish_draft("期-47", "D-2", {"S-a": ["M-1"]})
    assert (second.changed, second.cancelled) == (1, 1)
    assert await checks(roster) == {'["S-a", "M-1"]': "pending", '["S-a", "M-2"]': "cancelled",
                                    '["S-b", "M-3"]': "cancelled"}
    roster.clock.set(local(DAY, 20, 31))

    async def fired() -> bool:
        return await checks(roster) == {'["S-a", "M-1"]': "fired", '["S-a", "M-2"]': "cancelled",
                                        '["S-b", "M-3"]': "cancelled"}
    await roster.until(fired, "张三's check fired, the others cancelled")
    assert [e["payload"]["member_id"] for e in await roster.outbox("roster.no-show")] == ["M-1"]
