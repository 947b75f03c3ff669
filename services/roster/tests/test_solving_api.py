"""Solving and publishing a rotation period through the API, over the real database and broker: a 28-day period
for 60 members with composition rules, solved by the background worker under a short time limit, checked by an
independent checker (tests/period_scenario.py, not the solver's code); published with one event per shift, once;
an over-constrained period answered with the conflicting rules and people."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from pingan_shared.auth import Role
from pingan_shared.clock import FixedClock
from pingan_shared.events.catalog import SHIFT_ASSIGNED

from .conftest import Roster
from .period_scenario import (
    RULES,
    all_shifts,
    build_period,
    cohort,
    duties,
    hard_rule_violations,
    night_counts,
    solved,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a week before the period
START = date(2026, 12, 7)  # a Monday
TANGXIA = "330381102000"  # 塘下镇 in the test city's directory


async def test_a_28_day_period_for_60_members_holds_every_hard_rule_and_publishes_once(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1)
    members = cohort()
    leave = {"M20": {START + timedelta(days=d) for d in range(3, 8)},
             "M33": {START + timedelta(days=d) for d in range(10, 12)}}
    for m in members:
        days = sorted(leave.get(m["member_id"], set()))
        if days:
            m["unavailability"] = [{"from_day": days[0].isoformat(), "days": len(days),
                                    "reason": "请假"}]
    duty_list = duties()
    await build_period(r, period_id="263", starts_on=START, days=28, members=members, duty_list=duty_list)

    job = await solved(r, "263", time_limit_s=20)
    assert job["status"] == "done", job
    assert job["result"]["solver_status"] in ("optimal", "feasible")
    assert job["result"]["bound"] is not None and job["progress"]["objective"] is not None
    draft = await r.ok("GET", f"/v1/drafts/{job['result']['draft_id']}", r.organiser)
    assert len(draft["assignments"]) == 28 * 4

    published = await r.ok("POST", f"/v1/drafts/{draft['draft_id']}/publish", r.organiser, expect=201)
    assert (published["roster_version"], published["assigned"]) == (1, 28 * 4)
    shifts = await all_shifts(r, r.organiser, period_id="263")
    assert len(shifts) == 28 * 4
    assert hard_rule_violations(shifts, members, duty_list, RULES, leave) == []
    nights = night_counts(shifts, [m["member_id"] for m in members])
    assert max(nights.values()) - min(nights.values()) <= 1, nights

    # one shift-assigned per shift, with what patrol needs to plan rounds; publishing again emits nothing
    again = await r.ok("POST", f"/v1/drafts/{draft['draft_id']}/publish", r.organiser, expect=200)
    assert again["repeated"] and again["roster_version"] == 1
    events = await r.outbox(SHIFT_ASSIGNED)
    assert sorted(e["key"] for e in events) == sorted(s["shift_id"] for s in shifts)
    patrol = next(e for e in events if e["payload"]["duty"] == "road-patrol")
    # the duty was given 塘下镇: the directory's code is what patrol and the alert signals get (its name beside it here)
    assert (patrol["payload"]["route_id"], patrol["payload"]["team_id"], patrol["payload"]["area"]) == (
        "R-1", "一队", TANGXIA)
    listed = next(s for s in shifts if s["shift_id"] == patrol["key"])
    assert (listed["area"], listed["area_name"], listed["team_name"]) == (TANGXIA, "塘下镇", "韩田村巡逻一队（测试）")
    assert len(patrol["payload"]["member_ids"]) == 4
    await r.drained()
    on_topic = await r.topic_events("roster.shifts")
    assert sorted(e["key"] for e in on_topic if e["type"] == SHIFT_ASSIGNED) == sorted(s["shift_id"] for s in shifts)

    # a member reads its own shifts, and only those
    mine = await all_shifts(r, r.member("M20"))
    assert mine and all("M20" in s["member_ids"] for s in mine)
    assert all(date.fromisoformat(s["day"]) not in leave["M20"] for s in mine)
    other = await r.client.get("/v1/shifts", params={"member_id": "M21"}, headers=r.member("M20"))
    assert other.status_code == 403

    # a supervisor (the command centre's board) reads the published roster, and not drafts
    supervisor = r.auth(Role.SUPERVISOR, "市委政法委督查室")
    assert sorted(s["shift_id"] for s in await all_shifts(r, supervisor, period_id="263")) == sorted(
        s["shift_id"] for s in shifts)
    drafts = await r.client.get("/v1/shifts", params={"include_unpublished": "true"}, headers=supervisor)
    assert drafts.status_code == 403 and drafts.json()["errors"][0]["field"] == "query.include_unpublished"


async def test_an_over_constrained_period_names_the_conflicting_rules_and_people(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(NOW), solve_poll_seconds=0.1)
    members = cohort(size=8, police=1)
    members[0]["unavailability"] = [{"from_day": "2026-12-08", "days": 1, "reason": "出差"}]
    night = duties()[1]
    await build_period(r, period_id="264", starts_on=START, days=3, members=members, duty_list=[night],
                       rules=RULES | {"max_night_spread": None})
    job = await solved(r, "264", time_limit_s=10)
    assert job["status"] == "infeasible", job
    outcome = job["outcome"]
    assert outcome["status"] == 422 and outcome["detail"]
    named = {p for c in outcome["conflicts"] for p in c["people"]}
    assert "M00" in named, outcome  # the only police officer, away on 12月8日
    texts = " ".join(c["text"] for c in outcome["conflicts"])
    assert "12月8日" in texts or any(1 in c["days"] for c in outcome["conflicts"]), outcome
    # nothing to publish, and a solve of an unknown period is a 404
    assert (await r.client.post("/v1/periods/nope/solve", json={}, headers=r.organiser)).status_code == 404
