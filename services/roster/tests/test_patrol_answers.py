"""What patrol answered for roster's shifts: a refusal shows on the shift and in its period's list of shifts not
planned in patrol, and alerts the organiser at the shift's start if it still stands — once, also across a restart
that spans the start; patrol planning it after all resolves that alert. Answers arrive out of order (a planned
overtaking its refusal) or twice: the newest by patrol's sequence wins, a repeat changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest

from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SHIFT_PLANNED, SHIFT_REFUSED
from pingan_shared.events.contracts import RefusalProblem
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.patrol_contracts import ShiftPlannedV1, ShiftRefusedV1
from pingan_shared.messaging.outbox import with_sequence
from roster.patrol_answers import NOT_PLANNED_KIND

from .conftest import Roster, local

DAY = date(2026, 11, 22)
PROBLEM = RefusalProblem(field="route_id", value="R-NOPE", reason="巡逻服务没有路线 R-NOPE (unknown route R-NOPE)")


@pytest.fixture
async def roster(roster_factory: Callable[..., Awaitable[Roster]]) -> Roster:
    harness = await roster_factory(FixedClock(local(DAY, 9)))
    await harness.seed_period("期-48", DAY, DAY + timedelta(days=6))
    await harness.seed_shift("S-1", "期-48", local(DAY, 20), local(DAY, 23), [], route_id="R-NOPE", team_id="一队")
    await harness.seed_shift("S-2", "期-48", local(DAY, 20), local(DAY, 23), [], team_id="二队")
    await harness.publish_shifts(["S-1", "S-2"])
    return harness


def answer(roster: Roster, shift_id: str, sequence: int, *, refused: bool) -> Envelope:
    patrol = EventFactory("patrol", roster.clock, roster.platform.kafka_topic_prefix)
    now = roster.clock.now()
    payload = (ShiftRefusedV1(shift_id=shift_id, period_id="期-48", problems=[PROBLEM], at=now) if refused
               else ShiftPlannedV1(shift_id=shift_id, period_id="期-48", plan_id=f"shift:{shift_id}", at=now))
    _, envelope = patrol.make(SHIFT_REFUSED if refused else SHIFT_PLANNED, payload, key=shift_id)
    return with_sequence(envelope, sequence)


async def send(roster: Roster, *envelopes: Envelope) -> None:
    await roster.publish([(roster.topic("patrol.shift-answers"), e) for e in envelopes])


async def signals(roster: Roster) -> list[tuple[str, str]]:
    return [(e["payload"]["action"], e["payload"]["dedup_key"]) for e in await roster.outbox("alerts.signal")
            if e["payload"]["kind"] == NOT_PLANNED_KIND]


async def test_a_refusal_shows_alerts_at_the_start_across_a_restart_and_resolves_when_planned(
    roster: Roster, roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    refused, planned = answer(roster, "S-1", 1, refused=True), answer(roster, "S-1", 2, refused=False)
    await send(roster, refused, refused, answer(roster, "S-2", 2, refused=False), answer(roster, "S-2", 1,
                                                                                          refused=True))

    async def answered() -> bool:
        shift = await roster.ok("GET", "/v1/shifts/S-1", roster.organiser)
        other = await roster.ok("GET", "/v1/shifts/S-2", roster.organiser)
        return shift["patrol_status"] == "refused" and other["patrol_status"] == "planned"
    await roster.until(answered, "patrol's answers kept")
    shift = await roster.ok("GET", "/v1/shifts/S-1", roster.organiser)
    assert shift["patrol_problems"] == [PROBLEM.model_dump()]
    period = await roster.ok("GET", "/v1/periods/期-48", roster.organiser)
    assert [(s["shift_id"], s["problems"][0]["value"]) for s in period["not_planned_in_patrol"]] == [
        ("S-1", "R-NOPE")]  # S-2's refusal came after its planned answer, with an older sequence: ignored
    assert await signals(roster) == []  # nothing before the shift: the organiser may still fix it

    # the service is down across the shift's start; when it is back, the check fires once
    await roster.stop()
    roster.clock.set(local(DAY, 20, 5))
    again = await roster_factory(roster.clock, twin_of=roster)
    await again.until(lambda: _signalled(again, [("trigger", "roster:shift:S-1:not-planned")]),
                      "the not-planned alert at the shift's start")
    [trigger] = [e for e in await again.outbox("alerts.signal") if e["payload"]["kind"] == NOT_PLANNED_KIND]
    assert "R-NOPE" in trigger["payload"]["summary"] and trigger["payload"]["area"] == "塘下镇"
    await again.advance(timedelta(minutes=5))
    assert await signals(again) == [("trigger", "roster:shift:S-1:not-planned")]

    # fixed after all: patrol plans it, the alert resolves; the refusal arriving again changes nothing
    await send(again, planned, refused)
    await again.until(lambda: _signalled(again, [("trigger", "roster:shift:S-1:not-planned"),
                                                 ("resolve", "roster:shift:S-1:not-planned")]), "the resolve")
    assert (await again.ok("GET", "/v1/shifts/S-1", again.organiser))["patrol_status"] == "planned"
    assert (await again.ok("GET", "/v1/periods/期-48", again.organiser))["not_planned_in_patrol"] == []


async def _signalled(roster: Roster, expected: list[tuple[str, str]]) -> bool:
    return await signals(roster) == expected
