"""Role boundaries of routes, plans, rounds and compliance, tried from the outside; and the rounds consumer
against redelivered and reordered scan events."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from pingan_shared.auth import Role
from pingan_shared.events.envelope import Envelope
from pingan_stack.testing import bearer

from .conftest import Patrol, local
from .test_rounds_night import TONIGHT, plan, rounds_of, set_up_route, wait_attached


async def test_who_may_read_and_plan_what(patrol: Patrol) -> None:
    await set_up_route(patrol)
    await plan(patrol, "P-1", "一队")
    await plan(patrol, "P-2", "二队")
    [theirs] = await rounds_of(patrol, "二队")
    client = patrol.client
    plan_body = {"id": "P-9", "team_id": "一队", "route_id": "R-TX-1", "first_date": "2026-03-05",
                 "window_start": "20:00", "window_end": "22:00", "rounds_per_night": 1}
    route_body = {"id": "R-9", "name": "九线", "checkpoint_ids": ["CP-A"]}
    since = {"since": local(TONIGHT).isoformat(), "until": local(TONIGHT + timedelta(days=1)).isoformat()}

    assert (await client.get("/v1/rounds")).status_code == 401
    forged = patrol.device("一队")["Authorization"][:-4] + "AAAA"
    assert (await client.get("/v1/rounds", headers={"Authorization": forged})).status_code == 401

    for role in (Role.MEMBER, Role.UNIT, Role.INSPECTOR, Role.INTEGRATION, Role.SUPERVISION_MEMBER):
        who = bearer_unit(patrol) if role is Role.UNIT else patrol.auth(role, f"某{role.value}")
        assert (await client.get("/v1/rounds", headers=who)).status_code == 403, role
        assert (await client.get(f"/v1/rounds/{theirs['id']}", headers=who)).status_code == 403, role
        assert (await client.get("/v1/compliance", headers=who, params=since)).status_code == 403, role
        assert (await client.post("/v1/plans", headers=who, json=plan_body)).status_code == 403, role

    device = patrol.device("一队")
    mine = (await client.get("/v1/rounds", headers=device)).json()["items"]
    assert {r["team_id"] for r in mine} == {"一队"}
    other = await client.get("/v1/rounds", headers=device, params={"team_id": "二队"})
    assert other.status_code == 403 and other.json()["errors"][0]["field"] == "team_id"
    assert (await client.get(f"/v1/rounds/{theirs['id']}", headers=device)).status_code == 404
    assert (await client.get("/v1/compliance", headers=device, params=since)).status_code == 403
    assert (await client.post("/v1/plans", headers=device, json=plan_body)).status_code == 403
    assert (await client.post("/v1/routes", headers=device, json=route_body)).status_code == 403
    assert (await client.delete("/v1/plans/P-2", headers=device)).status_code == 403

    elsewhere = patrol.auth(Role.SUPERVISOR, "安阳街道督查", scope="安阳街道")
    assert (await client.get("/v1/rounds", headers=elsewhere)).json()["items"] == []
    assert (await client.get(f"/v1/rounds/{theirs['id']}", headers=elsewhere)).status_code == 404
    assert (await client.get("/v1/rounds", headers=elsewhere, params={"area": "塘下镇"})).status_code == 403
    here = patrol.auth(Role.SUPERVISOR, "塘下镇督查", scope="塘下镇")
    assert len((await client.get("/v1/rounds", headers=here)).json()["items"]) == 2
    assert (await client.post("/v1/plans", headers=here, json=plan_body)).status_code == 403


def bearer_unit(patrol: Patrol) -> dict[str, str]:
    return bearer(Role.UNIT, "联络员", unit="U-TX", issued_at=patrol.clock.now())


async def test_redelivered_and_reordered_scan_events_attach_once(patrol: Patrol) -> None:
    await set_up_route(patrol)
    await plan(patrol, "P-1", "一队")
    await patrol.advance_to(local(TONIGHT, 20, 14))  # before the start grace ends: no not-started to race with
    await patrol.scans("一队", [("s-1", "CP-A", local(TONIGHT, 20, 5)), ("s-2", "CP-B", local(TONIGHT, 20, 8)),
                               ("s-3", "CP-C", local(TONIGHT, 20, 12))])
    await wait_attached(patrol, 3)
    events = [(e.pop("topic"), Envelope.model_validate(e)) for e in await patrol.outbox("patrol.scan-accepted")]
    assert len(events) == 3
    await patrol.publish(list(reversed(events)) + events)  # every scan again, in reverse and then in order

    async def all_seen() -> bool:
        async with patrol.db() as conn:
            return await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer_group LIKE '%patrol.scans'") >= 3
    await patrol.until(all_seen, "the scans handled")
    await asyncio.sleep(1.0)
    assert await patrol.attached() == 3
    types = Counter(e["type"] for e in await patrol.outbox("patrol.round"))
    assert types == Counter({"patrol.round-started": 1, "patrol.round-completed": 1})
