"""Re-planning and fairness across periods, through the API over the real database and broker: a member who falls
ill after publishing is re-planned out with few changes, and the new version emits shift-changed only for the
shifts whose crew changed; the next period evens out cumulative nights using the published history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SHIFT_ASSIGNED, SHIFT_CHANGED

from .conftest import Roster
from .period_scenario import RULES, all_shifts, build_period, cohort, duties, hard_rule_violations, night_counts, solved

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
START = date(2026, 12, 7)


async def test_replanning_a_published_week_changes_few_shifts_and_the_next_period_evens_out_nights(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1)
    members = cohort(size=16, police=4)
    duty_list = [duties()[0] | {"required_size": 2}, duties()[1]]
    await build_period(r, period_id="A", starts_on=START, days=7, members=members, duty_list=duty_list)
    first = await solved(r, "A", time_limit_s=5)
    await r.ok("POST", f"/v1/drafts/{first['result']['draft_id']}/publish", r.organiser, expect=201)
    before = {s["shift_id"]: s["member_ids"] for s in await all_shifts(r, r.organiser, period_id="A")}

    # M05 falls ill for the last three days: the organiser records it and re-plans (the default once published)
    ill = next(m for m in members if m["member_id"] == "M05")
    sick_days = {START + timedelta(days=d) for d in (4, 5, 6)}
    await r.ok("PUT", "/v1/members/M05", r.organiser,
               json=ill | {"unavailability": [{"from_day": min(sick_days).isoformat(), "days": 3, "reason": "病假"}]})
    second = await solved(r, "A", time_limit_s=5)
    assert second["status"] == "done" and second["replan"] is True, second
    published = await r.ok("POST", f"/v1/drafts/{second['result']['draft_id']}/publish", r.organiser, expect=201)
    after = {s["shift_id"]: s["member_ids"] for s in await all_shifts(r, r.organiser, period_id="A")}
    changed = {sid for sid in after if sorted(after[sid]) != sorted(before[sid])}
    touched_by_illness = {sid for sid, crew in before.items() if "M05" in crew
                          and date.fromisoformat(sid.split("@")[1]) in sick_days}
    assert touched_by_illness <= changed
    assert len(changed) <= 2 * len(touched_by_illness) + 2, (changed, touched_by_illness)
    assert published["roster_version"] == 2 and published["changed"] == len(changed)
    events = await r.outbox(SHIFT_CHANGED)
    assert sorted(e["key"] for e in events) == sorted(changed)
    assert all(e["payload"]["roster_version"] == 2 for e in events)
    assert len(await r.outbox(SHIFT_ASSIGNED)) == len(before)  # nothing assigned twice
    unavailable = {"M05": sick_days}
    assert hard_rule_violations(await all_shifts(r, r.organiser, period_id="A"), members, duty_list, RULES,
                                unavailable) == []

    # the next week, same cohort: history (published nights of A) evens out the cumulative count
    ids = [m["member_id"] for m in members]
    nights_a = night_counts(await all_shifts(r, r.organiser, period_id="A"), ids)
    await r.ok("POST", "/v1/programmes/P-塘下/periods", r.organiser, json={
        "period_id": "B", "name": "B期", "starts_on": (START + timedelta(days=7)).isoformat(), "days": 7,
        "cohort": ids, "rules": RULES})
    for duty in duty_list:
        await r.ok("POST", "/v1/periods/B/duties", r.organiser, json=duty | {"duty_id": f"B-{duty['duty_id']}"})
    third = await solved(r, "B", time_limit_s=8)
    assert third["status"] == "done", third
    await r.ok("POST", f"/v1/drafts/{third['result']['draft_id']}/publish", r.organiser, expect=201)
    nights_b = night_counts(await all_shifts(r, r.organiser, period_id="B"), ids)
    cumulative = {m: nights_a[m] + nights_b[m] for m in ids}
    assert max(cumulative.values()) - min(cumulative.values()) <= 1, (nights_a, nights_b)
    fewest_in_a = [m for m in ids if nights_a[m] == min(nights_a.values())]
    assert all(nights_b[m] >= max(nights_b.values()) - 0 for m in fewest_in_a), (nights_a, nights_b)

    # two drafts of B made a minute apart: once the newer is published, the older would undo it (409)
    older = await solved(r, "B", time_limit_s=5)
    r.clock.advance(timedelta(minutes=1))
    newer = await solved(r, "B", time_limit_s=5)
    await r.ok("POST", f"/v1/drafts/{newer['result']['draft_id']}/publish", r.organiser, expect=201)
    stale = await r.client.post(f"/v1/drafts/{older['result']['draft_id']}/publish", headers=r.organiser)
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "draft_id", stale.text
    # and who may not publish or solve at all
    for token in (r.member("M01"), r.auth(Role.PATROL_DEVICE, "device-1", team="一队")):
        assert (await r.client.post(f"/v1/drafts/{newer['result']['draft_id']}/publish",
                                    headers=token)).status_code == 403
        assert (await r.client.post("/v1/periods/B/solve", headers=token, json={})).status_code == 403
        assert (await r.client.get(f"/v1/solve-jobs/{newer['job_id']}", headers=token)).status_code == 403
