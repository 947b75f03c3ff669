"""Swaps, overrides and handoff reminders on a published roster, over the real database and broker: a swap that
breaks the rest rule is refused with the reason in words; a member swaps only its own shift; an approved swap
emits roster.shift-changed with the whole new crew; an override that breaks the composition is refused; the
handoff reminder reaches the members on a shift before it starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SHIFT_CHANGED

from .conftest import Roster
from .period_scenario import RULES, all_shifts, build_period, cohort, duties, solved

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = date(2026, 12, 7)


async def published_week(r: Roster) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    members = cohort(size=16, police=4)
    duty_list = [duties()[0] | {"required_size": 2}, duties()[1]]
    await build_period(r, period_id="W1", starts_on=START, days=7, members=members, duty_list=duty_list)
    job = await solved(r, "W1", time_limit_s=5)
    assert job["status"] == "done", job
    await r.ok("POST", f"/v1/drafts/{job['result']['draft_id']}/publish", r.organiser, expect=201)
    return members, await all_shifts(r, r.organiser, period_id="W1")


def held_days(shifts: list[dict[str, Any]], member: str) -> dict[date, dict[str, Any]]:
    return {date.fromisoformat(s["day"]): s for s in shifts if member in s["member_ids"]}


async def test_a_swap_that_breaks_rest_is_refused_with_the_reason_and_a_valid_one_is_published(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1)
    members, shifts = await published_week(r)
    ids = [m["member_id"] for m in members]
    # a training on day d+1 (member A) and someone (B) on the night patrol of day d
    pair = next((t, a, b) for t in shifts if t["kind"] == "training" for a in t["member_ids"]
                for n in shifts if n["kind"] == "road-patrol"
                and date.fromisoformat(n["day"]) == date.fromisoformat(t["day"]) - timedelta(days=1)
                for b in n["member_ids"] if b not in t["member_ids"])
    training, a, b = pair
    refused = await r.client.post(f"/v1/shifts/{training['shift_id']}/swap-requests", headers=r.member(a),
                                  json={"to_member_id": b})
    assert refused.status_code == 409, refused.text
    reason = refused.json()["detail"]
    assert "休息不足" in reason and "塘下镇夜间巡逻" in reason and "白天学习训练" in reason, reason
    assert refused.json()["errors"][0]["field"] == "body.to_member_id"

    # a member asks only for its own shift (another's answers as one that does not exist); a device asks for nothing
    not_mine = next(s for s in shifts if a not in s["member_ids"])
    assert (await r.client.post(f"/v1/shifts/{not_mine['shift_id']}/swap-requests", headers=r.member(a),
                                json={})).status_code == 404
    assert (await r.client.post(f"/v1/shifts/{training['shift_id']}/swap-requests", headers=r.member(a),
                                json={"from_member_id": b})).status_code == 403
    device = r.auth(Role.PATROL_DEVICE, "device-1", team="一队")
    assert (await r.client.post(f"/v1/shifts/{training['shift_id']}/swap-requests", headers=device,
                                json={})).status_code == 403

    # asked without a replacement; the organiser's choice of B is refused (still pending), C is accepted
    request = await r.ok("POST", f"/v1/shifts/{training['shift_id']}/swap-requests", r.member(a),
                         json={"note": "家中有事"}, expect=201)
    assert (await r.client.post(f"/v1/swap-requests/{request['request_id']}/decision", headers=r.member(a),
                                json={"decision": "approve", "to_member_id": a})).status_code == 403
    again = await r.client.post(f"/v1/swap-requests/{request['request_id']}/decision", headers=r.organiser,
                                json={"decision": "approve", "to_member_id": b})
    assert again.status_code == 409 and "休息不足" in again.json()["detail"]
    day = date.fromisoformat(training["day"])
    free = [m for m in ids if m not in training["member_ids"]
            and not any(day + timedelta(days=k) in held_days(shifts, m) for k in (-1, 0, 1))
            and len(held_days(shifts, m)) < RULES["max_duties_per_week"]]
    assert free, "the week leaves someone free around the day"
    c = free[0]
    approved = await r.ok("POST", f"/v1/swap-requests/{request['request_id']}/decision", r.organiser,
                          json={"decision": "approve", "to_member_id": c})
    assert approved["status"] == "approved" and c in approved["member_ids"] and a not in approved["member_ids"]
    changed = [e for e in await r.outbox(SHIFT_CHANGED) if e["key"] == training["shift_id"]]
    assert len(changed) == 1 and sorted(changed[0]["payload"]["member_ids"]) == approved["member_ids"]
    assert "调班" in changed[0]["payload"]["reason"]
    now_on = await r.ok("GET", f"/v1/shifts/{training['shift_id']}", r.organiser)
    assert now_on["member_ids"] == approved["member_ids"]
    # A no longer sees it; C does
    assert (await r.client.get(f"/v1/shifts/{training['shift_id']}", headers=r.member(a))).status_code == 404
    assert (await r.client.get(f"/v1/shifts/{training['shift_id']}", headers=r.member(c))).status_code == 200
    decided = await r.client.post(f"/v1/swap-requests/{request['request_id']}/decision", headers=r.organiser,
                                  json={"decision": "refuse"})
    assert decided.status_code == 409


async def test_an_override_that_breaks_composition_is_refused_and_handoff_reminders_arrive(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1, handoff_reminder_minutes=120)
    members, shifts = await published_week(r)
    police = {m["member_id"] for m in members if m["role"] == "police"}
    night = next(s for s in shifts if s["kind"] == "road-patrol")
    officer = next(m for m in night["member_ids"] if m in police)
    civilian = next(m["member_id"] for m in members if m["role"] != "police"
                    and date.fromisoformat(night["day"]) not in held_days(shifts, m["member_id"])
                    and not held_days(shifts, m["member_id"]).keys() & {
                        date.fromisoformat(night["day"]) + timedelta(days=k) for k in (-1, 1)})
    swapped = await r.client.post(f"/v1/shifts/{night['shift_id']}/override", headers=r.organiser,
                                  json={"remove_member_id": officer, "add_member_id": civilian, "reason": "临时调整"})
    assert swapped.status_code == 409, swapped.text
    assert "民警" in swapped.json()["detail"], swapped.json()

    # the first training's crew gets a reminder two hours before 08:30 local, once
    first = min((s for s in shifts if s["kind"] == "training"), key=lambda s: s["starts_at"])
    crew = first["member_ids"]
    assert (await r.ok("GET", "/v1/me/notices", r.member(crew[0])))["items"] == []
    r.clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=119))

    async def reminded() -> bool:
        counts = [len((await r.ok("GET", "/v1/me/notices", r.member(m)))["items"]) for m in crew]
        return counts == [1] * len(crew)

    await r.until(reminded, "every crew member reminded")
    notice = (await r.ok("GET", "/v1/me/notices", r.member(crew[0])))["items"][0]
    assert notice["shift_id"] == first["shift_id"] and "交接班提醒" in notice["text"] and "08:30" in notice["text"]
    outsider = next(m["member_id"] for m in members if m["member_id"] not in crew)
    assert all(n["shift_id"] != first["shift_id"]
               for n in (await r.ok("GET", "/v1/me/notices", r.member(outsider)))["items"])


async def test_a_handoff_reminder_due_while_the_service_was_down_fires_once_after_the_restart(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1, handoff_reminder_minutes=120)
    _, shifts = await published_week(r)
    first = min((s for s in shifts if s["kind"] == "training"), key=lambda s: s["starts_at"])
    await r.stop()
    r.clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=30))  # the reminder was due 90 min ago
    await r.start()

    async def reminded() -> bool:
        counts = [len((await r.ok("GET", "/v1/me/notices", r.member(m)))["items"]) for m in first["member_ids"]]
        return counts == [1] * len(first["member_ids"])

    await r.until(reminded, "the crew reminded after the restart")
    await r.stop()
    await r.start()
    async with r.db() as conn:
        fired = await conn.fetchval("SELECT count(*) FROM timers WHERE kind = 'roster.handoff' AND timer_key = $1"
                                    " AND status = 'fired'", first["shift_id"])
        notices = await conn.fetchval("SELECT count(*) FROM member_notices WHERE shift_id = $1", first["shift_id"])
    assert fired == 1 and notices == len(first["member_ids"])


async def test_a_member_withdraws_its_own_request_and_a_started_shift_is_not_swapped(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1)
    _, shifts = await published_week(r)
    first = min(shifts, key=lambda s: s["starts_at"])
    a, b = first["member_ids"][0], first["member_ids"][1]
    request = await r.ok("POST", f"/v1/shifts/{first['shift_id']}/swap-requests", r.member(a), json={}, expect=201)
    rid = request["request_id"]
    assert (await r.client.post(f"/v1/swap-requests/{rid}/withdrawal", headers=r.member(b))).status_code == 404
    assert (await r.client.post(f"/v1/swap-requests/{rid}/withdrawal", headers=r.organiser)).status_code == 403
    assert (await r.ok("POST", f"/v1/swap-requests/{rid}/withdrawal", r.member(a)))["status"] == "withdrawn"
    assert (await r.client.post(f"/v1/swap-requests/{rid}/withdrawal", headers=r.member(a))).status_code == 409
    mine = await r.ok("GET", "/v1/swap-requests", r.member(a))
    assert [x["status"] for x in mine["items"]] == ["withdrawn"]
    assert (await r.ok("GET", "/v1/swap-requests", r.member(b)))["items"] == []

    r.clock.set(datetime.fromisoformat(first["starts_at"]) + timedelta(minutes=5))
    started = await r.client.post(f"/v1/shifts/{first['shift_id']}/swap-requests", headers=r.member(a), json={})
    assert started.status_code == 409 and "已开始" in started.json()["detail"]
    override = await r.client.post(f"/v1/shifts/{first['shift_id']}/override", headers=r.organiser,
                                   json={"remove_member_id": a})
    assert override.status_code == 409
