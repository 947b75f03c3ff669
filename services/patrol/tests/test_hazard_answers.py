"""What inspection answered for a reported hazard (consumer group ``patrol.shifts``) over the real broker: a
refusal shows on the hazard in ``GET /v1/hazards`` (the field, the value, the Chinese-first reason, the triage task);
a repeated answer changes nothing, an older one arriving after a newer one is ignored (inspection's sequence per
hazard), and an answer for a hazard patrol does not hold is dropped."""

from __future__ import annotations

from datetime import date
from typing import Any

from pingan_shared.events.catalog import HAZARD_REFUSED
from pingan_shared.events.contracts import RefusalProblem
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.inspection_contracts import HazardRefusedV1
from pingan_shared.messaging.outbox import with_sequence

from .conftest import Patrol, local

TONIGHT = date(2026, 3, 2)
NEWER = RefusalProblem(field="unit_id", value="安阳", reason="目录中没有责任单位“安阳” (unknown unit '安阳')")
OLDER = RefusalProblem(field="unit_id", value="安阳", reason="旧的答复 (an older answer)")


def refusal(patrol: Patrol, hazard_id: str, sequence: int, problem: RefusalProblem) -> Envelope:
    inspection = EventFactory("inspection", patrol.clock, patrol.platform.kafka_topic_prefix)
    payload = HazardRefusedV1(hazard_id=hazard_id, task_id=f"T-{sequence}", problems=[problem],
                              at=patrol.clock.now())
    _, envelope = inspection.make(HAZARD_REFUSED, payload, key=hazard_id)
    return with_sequence(envelope, sequence)


async def handled(patrol: Patrol) -> int:
    async with patrol.db() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%patrol.shifts' AND topic LIKE '%hazard-answers'")
    return count


async def listed(patrol: Patrol) -> dict[str, dict[str, Any]]:
    page = await patrol.ok("GET", "/v1/hazards", patrol.organiser, expect=200)
    return {h["hazard_id"]: h for h in page["items"]}


async def test_a_refusal_shows_on_the_hazard_and_late_or_repeated_answers_change_nothing(patrol: Patrol) -> None:
    await patrol.advance_to(local(TONIGHT, 21, 30))
    body = {"member_id": "张三", "category": "fire", "description": "楼道堆放杂物堵塞消防通道",
            "place": "安阳街道万松路12号", "unit_id": "安阳", "reported_at": local(TONIGHT, 21, 10).isoformat()}
    hazard = await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), expect=201,
                             json={**body, "client_hazard_id": "h-1"})
    other = await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), expect=201,
                            json={**body, "client_hazard_id": "h-2"})
    assert hazard["inspection_problems"] is None and hazard["inspection_task_id"] is None
    hazard_id = hazard["hazard_id"]

    newer, older = refusal(patrol, hazard_id, 2, NEWER), refusal(patrol, hazard_id, 1, OLDER)
    stranger = refusal(patrol, "PH-not-ours", 1, NEWER)
    # the newer answer, then the same again (redelivered), then the older one that it overtook, and one for a
    # hazard patrol does not hold
    await patrol.publish([(patrol.topic("inspection.hazard-answers"), e) for e in (newer, newer, older, stranger)])

    async def all_handled() -> bool:
        return await handled(patrol) >= 3  # the repeat is no new inbox row
    await patrol.until(all_handled, "the answers handled")

    shown = await listed(patrol)
    assert shown[hazard_id]["inspection_problems"] == [NEWER.model_dump()]
    assert shown[hazard_id]["inspection_task_id"] == "T-2"
    assert shown[other["hazard_id"]]["inspection_problems"] is None  # no answer for it
    async with patrol.db() as conn:
        assert await conn.fetchval("SELECT inspection_sequence FROM hazard_reports WHERE hazard_id = $1",
                                   hazard_id) == 2
        assert await conn.fetchval("SELECT count(*) FROM hazard_reports WHERE hazard_id = 'PH-not-ours'") == 0
    # the device sending the report again (its answer lost) is answered with the refusal too
    again = await patrol.ok("POST", "/v1/hazards", patrol.device("一队"), expect=200,
                            json={**body, "client_hazard_id": "h-1"})
    assert again["inspection_problems"] == [NEWER.model_dump()]
