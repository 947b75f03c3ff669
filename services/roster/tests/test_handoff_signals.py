"""The handoff reminder as an alert signal (``roster.handoff``): besides each member's notice, the reminder publishes
one trigger (kind ``roster.handoff-due``, severity info, the notice's text, the duty's place) addressed to the crew
by their member ids — once, also across a restart that spans its due time; a member put on the shift afterwards
makes it trigger again with the whole crew (alerts tells only the newcomer) while nobody gets a second notice; the
shift's start resolves it once (a second timer, also across a restart), and a shift cancelled after its reminder
resolves it at once instead."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import ALERT_SIGNAL
from roster.handoff import HANDOFF, HANDOFF_DUE_KIND, HANDOFF_OVER

from .conftest import Roster, local

DAY = date(2026, 11, 22)


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    harness = await roster_factory(FixedClock(local(DAY, 9)), handoff_reminder_minutes=120)
    await harness.seed_members("ORG-塘下", [{"member_id": m, "name": n, "team_id": "一队"} for m, n in (
        ("M-1", "张三"), ("M-2", "李四"), ("M-3", "王五"), ("M-4", "赵六"))])
    await harness.seed_period("期-49", DAY, DAY + timedelta(days=6))
    await harness.seed_shift("S-a", "期-49", local(DAY, 20), local(DAY, 23), [], team_id="一队")
    await harness.seed_shift("S-b", "期-49", local(DAY, 20), local(DAY, 23), [], team_id="一队", title="塘下镇设卡盘查")
    await harness.publish_draft("期-49", "D-1", {"S-a": ["M-1", "M-2"], "S-b": ["M-3"]})
    return harness


async def signals(roster: Roster, shift_id: str) -> list[dict[str, Any]]:
    """The shift's handoff signals in the outbox, in order, each with its per-key sequence."""
    return [{**e["payload"], "sequence": e["sequence"]} for e in await roster.outbox(ALERT_SIGNAL)
            if e["payload"]["kind"] == HANDOFF_DUE_KIND and e["payload"]["source"]["entity_id"] == shift_id]


async def fired(roster: Roster, kind: str, shift_id: str) -> int:
    async with roster.db() as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM timers WHERE kind = $1 AND timer_key = $2"
                                         " AND status = 'fired'", kind, shift_id)
    return count


async def settle() -> None:
    """Time for the timers (polled every 50 ms here) to fire anything they still would."""
    await asyncio.sleep(0.5)


async def restart(roster: Roster) -> None:
    await roster.stop()
    await roster.start()


async def test_the_reminder_signals_the_crew_once_a_newcomer_again_and_the_start_resolves_it(roster: Roster) -> None:
    assert await signals(roster, "S-a") == []
    await roster.stop()
    roster.clock.set(local(DAY, 18, 30))  # the reminder was due at 18:00, while the service was down
    await roster.start()

    async def triggered() -> bool:
        return len(await signals(roster, "S-a")) == 1

    await roster.until(triggered, "the reminder's signal after the restart")
    await restart(roster)
    await settle()
    [trigger] = await signals(roster, "S-a")
    notice = (await roster.ok("GET", "/v1/me/notices", roster.member("M-1")))["items"][0]
    assert trigger["action"] == "trigger" and trigger["dedup_key"] == "roster:shift:S-a:handoff"
    assert (trigger["severity"], trigger["people"], trigger["summary"]) == ("info", ["M-1", "M-2"], notice["text"])
    assert trigger["area"] == "塘下镇" and trigger["place"] is not None, trigger
    assert await fired(roster, HANDOFF, "S-a") == 1

    # 赵六 is put on the shift (a duty of three): the reminder fires again with the whole crew; only 赵六 gets a
    # new notice
    async with roster.db() as conn:
        await conn.execute("UPDATE duties SET required_size = 3 WHERE duty_id = 'D-S-a'")
    await roster.ok("POST", "/v1/shifts/S-a/override", roster.organiser, json={"add_member_id": "M-4"})

    async def again() -> bool:
        return len(await signals(roster, "S-a")) == 2

    await roster.until(again, "the reminder's signal naming the newcomer")
    second = (await signals(roster, "S-a"))[1]
    assert second["action"] == "trigger" and sorted(second["people"]) == ["M-1", "M-2", "M-4"]
    assert second["sequence"] > trigger["sequence"]
    counts = [len((await roster.ok("GET", "/v1/me/notices", roster.member(m)))["items"]) for m in ("M-1", "M-4")]
    assert counts == [1, 1]

    # the shift starts: one resolve, also after a restart
    roster.clock.set(local(DAY, 20))

    async def resolved() -> bool:
        return [s["action"] for s in await signals(roster, "S-a")] == ["trigger", "trigger", "resolve"]

    await roster.until(resolved, "the resolve at the shift's start")
    await restart(roster)
    await settle()
    assert [s["action"] for s in await signals(roster, "S-a")] == ["trigger", "trigger", "resolve"]
    assert (await signals(roster, "S-a"))[2]["people"] == []
    assert await fired(roster, HANDOFF_OVER, "S-a") == 1


async def test_a_shift_cancelled_after_its_reminder_resolves_at_once_and_not_again_at_its_start(
    roster: Roster,
) -> None:
    roster.clock.set(local(DAY, 18, 30))

    async def both_reminded() -> bool:
        return len(await signals(roster, "S-a")) == len(await signals(roster, "S-b")) == 1

    await roster.until(both_reminded, "both shifts' reminders")
    cancelled = await roster.publish_draft("期-49", "D-2", {"S-a": ["M-1", "M-2"]})  # S-b left empty: cancelled
    assert cancelled.cancelled == 1
    assert [s["action"] for s in await signals(roster, "S-b")] == ["trigger", "resolve"]
    roster.clock.set(local(DAY, 20))

    async def started() -> bool:
        return [s["action"] for s in await signals(roster, "S-a")] == ["trigger", "resolve"]

    await roster.until(started, "S-a resolved at its start")
    await settle()
    assert [s["action"] for s in await signals(roster, "S-b")] == ["trigger", "resolve"]


async def test_a_reminder_firing_after_the_start_leaves_the_notice_but_signals_nobody(roster: Roster) -> None:
    await roster.stop()
    roster.clock.set(local(DAY, 20, 30))  # down across the reminder and the start
    await roster.start()

    async def noticed() -> bool:
        return len((await roster.ok("GET", "/v1/me/notices", roster.member("M-3")))["items"]) == 1

    await roster.until(noticed, "the late notice")
    await settle()
    assert await signals(roster, "S-a") == await signals(roster, "S-b") == []
