"""roster's shifts become patrol plans (consumer ``patrol.shifts``) over the real broker: a reordered or repeated
shift event changes nothing, a change moves the rounds, a cancel removes the future ones, a poison shift goes to
the dead-letter topic."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SHIFT_ASSIGNED, SHIFT_CANCELLED, SHIFT_CHANGED
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.roster_contracts import DutyKind, ShiftAssignedV1, ShiftCancelledV1, ShiftChangedV1

from .conftest import Patrol, local
from .test_rounds_night import rounds_of, set_up_route

TONIGHT = date(2026, 3, 2)


def shift_state(shift_id: str, starts: datetime, ends: datetime, **extra: Any) -> dict[str, Any]:
    return {"shift_id": shift_id, "period_id": "第263期", "duty": DutyKind.ROAD_PATROL, "title": "塘下镇夜间巡逻",
            "area": "塘下镇", "route_id": "R-TX-1", "team_id": "一队", "member_ids": ["张三", "李四"],
            "starts_at": starts, "ends_at": ends, **extra}


def sequenced(item: tuple[str, Envelope], sequence: int) -> tuple[str, Envelope]:
    topic, envelope = item
    return topic, envelope.model_copy(update={"sequence": sequence})


async def inbox_count(patrol: Patrol, group_suffix: str) -> int:
    async with patrol.db() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%' || $1", group_suffix)
    return count


async def wait_inbox(patrol: Patrol, count: int) -> None:
    async def reached() -> bool:
        return await inbox_count(patrol, "patrol.shifts") >= count
    await patrol.until(reached, f"{count} shift events handled")


async def test_reordered_and_repeated_shift_events_end_at_the_newest_state(patrol: Patrol, clock: FixedClock) -> None:
    await set_up_route(patrol)
    roster = EventFactory("roster", clock, patrol.platform.kafka_topic_prefix)
    assigned = sequenced(roster.make(SHIFT_ASSIGNED, ShiftAssignedV1(
        **shift_state("S-1", local(TONIGHT, 20), local(TONIGHT, 22)), roster_version=1), key="S-1"), 1)
    changed = sequenced(roster.make(SHIFT_CHANGED, ShiftChangedV1(
        **shift_state("S-1", local(TONIGHT, 20, 30), local(TONIGHT, 22, 30)), roster_version=2, reason="调班"),
        key="S-1"), 2)
    # the change overtakes the assignment, and both are delivered twice
    await patrol.publish([changed, assigned, changed, assigned])
    await wait_inbox(patrol, 2)
    await asyncio.sleep(0.5)
    rounds = await rounds_of(patrol, "一队")
    assert [(datetime.fromisoformat(r["starts_at"]), r["state"], r["shift_id"]) for r in rounds] == [
        (local(TONIGHT, 20, 30), "pending", "S-1")]
    plan = await patrol.ok("GET", "/v1/plans/shift:S-1", patrol.organiser, expect=200)
    assert (plan["window_start"], plan["window_end"]) == ("20:30", "22:30")

    cancelled = sequenced(roster.make(SHIFT_CANCELLED, ShiftCancelledV1(
        shift_id="S-1", period_id="第263期", reason="台风停巡", cancelled_at=clock.now()), key="S-1"), 3)
    # the cancel, then the old change once more: the shift stays cancelled
    await patrol.publish([cancelled, changed])
    await wait_inbox(patrol, 3)
    await asyncio.sleep(0.5)
    assert [r["state"] for r in await rounds_of(patrol, "一队")] == ["cancelled"]
    plan = await patrol.ok("GET", "/v1/plans/shift:S-1", patrol.organiser, expect=200)
    assert plan["cancelled_at"] is not None

    # the cancelled round raises nothing when its start grace passes
    await patrol.advance_to(local(TONIGHT, 23))
    await asyncio.sleep(0.5)
    assert await patrol.signals() == []


async def test_a_poison_shift_is_dead_lettered_an_unfixed_one_refused_and_the_next_one_applies(
    patrol: Patrol, clock: FixedClock,
) -> None:
    await set_up_route(patrol)
    roster = EventFactory("roster", clock, patrol.platform.kafka_topic_prefix)
    backwards = sequenced(roster.make(SHIFT_ASSIGNED, ShiftAssignedV1(
        **shift_state("S-X", local(TONIGHT, 22), local(TONIGHT, 20)), roster_version=1), key="S-X"), 1)
    unknown_route = sequenced(roster.make(SHIFT_ASSIGNED, ShiftAssignedV1(
        **shift_state("S-Y", local(TONIGHT, 20), local(TONIGHT, 22), route_id="R-404", team_id="没有的队"),
        roster_version=1), key="S-Y"), 1)
    good = sequenced(roster.make(SHIFT_ASSIGNED, ShiftAssignedV1(
        **shift_state("S-Z", local(TONIGHT, 20), local(TONIGHT, 22)), roster_version=1), key="S-Z"), 1)
    # the refused shift twice: the repeat is dropped by the inbox, not answered again
    await patrol.publish([backwards, unknown_route, good, unknown_route])
    await wait_inbox(patrol, 3)
    letters = await patrol.outbox("platform.dead-lettered")
    assert [letter["payload"]["reason"] for letter in letters] == [
        "HandlerRejected: shift S-X: ends_at must be after starts_at and within 24 hours"]
    # what the organiser can fix goes back to roster instead: the unknown route and the team nobody registered
    [refused] = await patrol.outbox("patrol.shift-refused")
    assert refused["key"] == "S-Y" and refused["topic"].endswith("patrol.shift-answers")
    assert [(p["field"], p["value"]) for p in refused["payload"]["problems"]] == [
        ("route_id", "R-404"), ("team_id", "没有的队")]
    assert "R-404" in refused["payload"]["problems"][0]["reason"]
    [planned] = await patrol.outbox("patrol.shift-planned")
    assert (planned["key"], planned["payload"]["plan_id"]) == ("S-Z", "shift:S-Z")
    assert [r["shift_id"] for r in await rounds_of(patrol, "一队")] == ["S-Z"]

    # the organiser fixes the duty and roster publishes the shift again: planned, its rounds expected
    fixed = sequenced(roster.make(SHIFT_CHANGED, ShiftChangedV1(
        **shift_state("S-Y", local(TONIGHT, 20), local(TONIGHT, 22), team_id="二队"), roster_version=2,
        reason="改路线"),
        key="S-Y"), 2)
    await patrol.publish([fixed, unknown_route])  # and the stale refusal's cause again: ignored
    await wait_inbox(patrol, 4)
    assert [e["key"] for e in await patrol.outbox("patrol.shift-planned")] == ["S-Z", "S-Y"]
    assert len(await patrol.outbox("patrol.shift-refused")) == 1


async def test_a_shift_handed_to_another_team_moves_its_rounds(patrol: Patrol, clock: FixedClock) -> None:
    await set_up_route(patrol)
    roster = EventFactory("roster", clock, patrol.platform.kafka_topic_prefix)
    assigned = sequenced(roster.make(SHIFT_ASSIGNED, ShiftAssignedV1(
        **shift_state("S-2", local(TONIGHT, 20), local(TONIGHT, 22)), roster_version=1), key="S-2"), 1)
    await patrol.publish([assigned])
    await wait_inbox(patrol, 1)
    [before] = await rounds_of(patrol, "一队")
    swapped = sequenced(roster.make(SHIFT_CHANGED, ShiftChangedV1(
        **shift_state("S-2", local(TONIGHT, 20), local(TONIGHT, 22), team_id="二队"), roster_version=2,
        reason="换班"), key="S-2"), 2)
    await patrol.publish([swapped])
    await wait_inbox(patrol, 2)
    await asyncio.sleep(0.3)
    assert await rounds_of(patrol, "一队") == []
    [after] = await rounds_of(patrol, "二队")
    assert (after["id"], after["state"], after["team_id"]) == (before["id"], "pending", "二队")
    # its start-due timer is armed again: the new team not starting raises for the new team
    await patrol.advance_to(local(TONIGHT, 20, 16))

    async def raised() -> bool:
        return await patrol.signals() == [("trigger", f"patrol:round:{after['id']}:not-started")]
    await patrol.until(raised, "not-started raised for the round of the new team")
    [event] = await patrol.outbox("patrol.round-not-started")
    assert event["payload"]["team_id"] == "二队"
