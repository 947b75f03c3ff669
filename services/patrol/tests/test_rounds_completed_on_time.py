"""A round walked in full before its close is judged (closed) at the close, and compliance counts it as done.

Compliance counts only closed rounds. The close of a completed round has nothing to announce (no event, no
signal), and it once therefore saved nothing: the round stayed open for good, and compliance left out every round
walked in full on time. Here the close marks it closed, once — also when patrol is down across the close — and
compliance counts it once; the rounds topic carries its start and completion once each and nothing more."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pingan_shared.clock import FixedClock

from .conftest import Patrol, local
from .test_rounds_night import AREA, AREA_CODE, TONIGHT, plan, rounds_of, set_up_route, wait_attached

# one team's whole route (CP-A, CP-B, CP-C) walked in the 20:00–22:00 window; it closes at 22:10 (grace 10 min)
WALK = (("w-A", "CP-A", local(TONIGHT, 20, 5)), ("w-B", "CP-B", local(TONIGHT, 20, 20)),
        ("w-C", "CP-C", local(TONIGHT, 20, 40)))
CLOSES_AT = local(TONIGHT, 22, 10)

DONE_ONCE = {"rounds": 1, "rounds_completed": 1, "rounds_late_or_not_started": 0, "expected_checkpoints": 3,
             "scanned_checkpoints": 3, "compliance": 1.0}


async def walk_the_route(patrol: Patrol) -> dict[str, Any]:
    """Plan tonight's round for 一队 and walk it in full, each scan sent a minute after it was made; the round
    as the API answers it once every scan is attached."""
    await set_up_route(patrol)
    await plan(patrol, "P-1", "一队")
    for scan_id, checkpoint, at in WALK:
        await patrol.advance_to(at + timedelta(minutes=1))
        await patrol.scan("一队", scan_id, checkpoint, at)
    await wait_attached(patrol, len(WALK))
    [round_] = await rounds_of(patrol, "一队")
    return round_


async def compliance_tonight(patrol: Patrol) -> dict[str, Any]:
    answer: dict[str, Any] = await patrol.ok("GET", "/v1/compliance", patrol.supervisor, expect=200, params={
        "since": local(TONIGHT).isoformat(), "until": local(TONIGHT + timedelta(days=1)).isoformat()})
    return answer


async def wait_closed(patrol: Patrol, round_id: str) -> dict[str, Any]:
    async def closed() -> bool:
        answer = await patrol.ok("GET", f"/v1/rounds/{round_id}", patrol.organiser, expect=200)
        return bool(answer["closed"])
    await patrol.until(closed, f"round {round_id} closed")
    [round_] = await rounds_of(patrol, "一队")
    return round_


async def judged_at(patrol: Patrol, round_id: str) -> datetime:
    """When the round was last saved (the clock's time): its close is the last change a completed round sees."""
    async with patrol.db() as conn:
        at: datetime = await conn.fetchval("SELECT updated_at FROM rounds WHERE id = $1", round_id)
    return at


def assert_counted_once(compliance: dict[str, Any]) -> None:
    assert compliance["teams"] == [{"team_id": "一队", "area": AREA_CODE, "area_name": AREA, **DONE_ONCE}]
    assert compliance["townships"] == [{"township": AREA_CODE, "name": AREA, **DONE_ONCE}]


async def test_a_round_walked_in_full_before_its_close_is_closed_at_the_close_and_counted_done(
    patrol: Patrol,
) -> None:
    round_ = await walk_the_route(patrol)
    assert datetime.fromisoformat(round_["closes_at"]) == CLOSES_AT
    assert (round_["state"], round_["scanned_checkpoints"], round_["closed"]) == ("completed", 3, False)
    # not judged before its close: compliance has nothing to count yet
    assert (await compliance_tonight(patrol))["teams"] == []

    await patrol.advance_to(CLOSES_AT + timedelta(minutes=1))
    round_ = await wait_closed(patrol, round_["id"])
    assert (round_["state"], round_["closed"]) == ("completed", True)
    assert datetime.fromisoformat(round_["completed_at"]) == WALK[-1][2]
    assert_counted_once(await compliance_tonight(patrol))
    # walked in full and on time: no alert was ever raised
    assert await patrol.signals() == []


async def test_a_round_completed_before_a_restart_spanning_its_close_is_closed_and_counted_once(
    patrol: Patrol, clock: FixedClock,
) -> None:
    round_ = await walk_the_route(patrol)
    round_id = round_["id"]

    # patrol stops before the close and comes back half an hour after it
    await patrol.advance_to(CLOSES_AT - timedelta(minutes=5))
    [round_] = await rounds_of(patrol, "一队")
    assert (round_["state"], round_["closed"]) == ("completed", False)
    await patrol.stop()
    clock.set(CLOSES_AT + timedelta(minutes=30))
    await patrol.start()
    round_ = await wait_closed(patrol, round_id)
    assert (round_["state"], round_["closed"]) == ("completed", True)
    assert_counted_once(await compliance_tonight(patrol))
    closed_at = await judged_at(patrol, round_id)

    # another restart and the next morning change nothing: the close fired once
    await patrol.stop()
    clock.set(local(TONIGHT + timedelta(days=1), 3))
    await patrol.start()
    await asyncio.sleep(1.0)  # timer poll 50 ms: a second judging would have happened by now
    [round_] = await rounds_of(patrol, "一队")
    assert (round_["state"], round_["closed"]) == ("completed", True)
    assert await judged_at(patrol, round_id) == closed_at
    async with patrol.db() as conn:
        close_timers = await conn.fetch(
            "SELECT status FROM timers WHERE kind = 'patrol-round-close' AND timer_key = $1", round_id)
    assert [t["status"] for t in close_timers] == ["fired"]
    assert_counted_once(await compliance_tonight(patrol))
    assert await patrol.signals() == []

    # what reached the broker: the round's start and completion, once each, and nothing at its close
    await patrol.drained()
    on_topic = await patrol.topic_events("patrol.rounds")
    assert Counter((e["type"], e["key"]) for e in on_topic) == Counter({
        ("patrol.round-started", round_id): 1, ("patrol.round-completed", round_id): 1})
    assert len({e["event_id"] for e in on_topic}) == len(on_topic)
