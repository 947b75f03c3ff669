"""Members' requests for and against duties, through the API: the solve grants weighted wishes when the hard rules
allow; a member asks only for itself, within its period."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from pingan_shared.clock import FixedClock

from .conftest import Roster
from .period_scenario import all_shifts, build_period, cohort, duties, solved

START = date(2026, 12, 7)


async def test_weighted_wishes_are_granted_and_a_member_asks_only_for_itself(
    roster_factory: Callable[..., Awaitable[Roster]],
) -> None:
    r = await roster_factory(FixedClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)), solve_poll_seconds=0.1)
    members = cohort(size=16, police=4)
    duty_list = [duties()[0] | {"required_size": 2}, duties()[1]]
    await build_period(r, period_id="W", starts_on=START, days=7, members=members, duty_list=duty_list)
    day_off, night_wanted = START + timedelta(days=2), START + timedelta(days=1)
    await r.ok("POST", "/v1/periods/W/requests", r.member("M05"), expect=201,
               json={"day": day_off.isoformat(), "wants": False, "weight": 100})
    await r.ok("POST", "/v1/periods/W/requests", r.organiser, expect=201,
               json={"member_id": "M06", "day": night_wanted.isoformat(), "duty_id": "night-patrol", "wants": True,
                     "weight": 100})
    for_another = await r.client.post("/v1/periods/W/requests", headers=r.member("M05"),
                                      json={"member_id": "M06", "day": day_off.isoformat(), "wants": False})
    assert for_another.status_code == 403
    outside = await r.client.post("/v1/periods/W/requests", headers=r.member("M05"),
                                  json={"day": "2027-01-01", "wants": False})
    assert outside.status_code == 409 and outside.json()["errors"][0]["field"] == "body.day"
    stranger = await r.client.post("/v1/periods/W/requests", headers=r.member("X99"),
                                   json={"day": day_off.isoformat(), "wants": False})
    # not in this period: as if it did not exist (test_existence_oracles)
    assert stranger.status_code == 404 and stranger.json()["errors"][0]["field"] == "period_id"

    job = await solved(r, "W", time_limit_s=5)
    assert job["status"] == "done", job
    await r.ok("POST", f"/v1/drafts/{job['result']['draft_id']}/publish", r.organiser, expect=201)
    shifts = await all_shifts(r, r.organiser, period_id="W")
    assert not [s for s in shifts if s["day"] == day_off.isoformat() and "M05" in s["member_ids"]]
    assert [s for s in shifts if s["shift_id"] == f"W:night-patrol@{night_wanted.isoformat()}"
            and "M06" in s["member_ids"]]
