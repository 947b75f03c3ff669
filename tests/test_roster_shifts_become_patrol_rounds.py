"""Flow 1 of DESIGN.md §3 across processes: an organiser's period is solved and published by roster; its night
patrols, which name a team and a route, reach patrol over Kafka and become plans with rounds; a swap that changes
a shift's crew changes nothing patrol must redo. Each service is its own process with its own database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from pingan_shared.auth import Role
from pingan_stack.harness import ProcessCluster
from pingan_stack.sample_directory import sample_csv
from pingan_stack.testing import bearer, eventually

# a process or fault scenario: in `make test`, not in `make test-fast` (docs/shape.md, the test lanes)
pytestmark = pytest.mark.slow

BEIJING = ZoneInfo("Asia/Shanghai")
ORGANISER = bearer(Role.ORGANISER, "平安办")
SUPERVISOR = bearer(Role.SUPERVISOR, "督导")

MEMBERS_CSV = "\n".join([
    "member_id,name,org_id,role,skills,team_id,app_member_id",
    *(f"P{i},民警{i},塘下派出所,police,,," for i in range(1, 4)),
    *(f"H{i},队员{i},韩田村巡逻队,patrol-member,,塘下一队,队员{i}" for i in range(1, 7)),
    *(f"G{i},保安{i},安保公司,guard,,," for i in range(1, 4)),
]) + "\n"


async def ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), f"{response.request.url}: {response.text}"
    return response.json()


async def test_published_night_patrols_become_patrol_plans_and_rounds(
    cluster: ProcessCluster, database_factory: Callable[[], Awaitable[str]]
) -> None:
    patrol = cluster.start("patrol", await database_factory())
    roster = cluster.start("roster", await database_factory())
    today = datetime.now(BEIJING).date()

    async with httpx.AsyncClient(timeout=60) as http:
        # the city's directory, loaded into roster (its owner), reaches patrol's copy: patrol plans for teams in it
        loaded = await ok(await http.post(f"{roster.url}/v1/directory/imports", content=sample_csv(),
                                          headers={**ORGANISER, "content-type": "text/csv"}))
        assert loaded["rejected"] == 0, loaded

        async def patrol_knows_the_team() -> bool:
            found = await http.get(f"{patrol.url}/v1/directory/entries/塘下一队", headers=SUPERVISOR)
            return found.status_code == 200

        await eventually(patrol_knows_the_team, timeout=30, what="patrol's copy of the directory")
        # patrol knows the route first: a shift naming a route patrol does not know is refused back to roster
        for n in (1, 2):
            await ok(await http.post(f"{patrol.url}/v1/checkpoints", headers=ORGANISER, json={
                "id": f"TX-0{n}", "tag": f"NFC-TX-0{n}", "name": f"塘下检查点{n}"}))
        await ok(await http.post(f"{patrol.url}/v1/routes", headers=ORGANISER, json={
            "id": "R-TX-1", "name": "塘下镇夜巡一线", "area": "塘下镇", "checkpoint_ids": ["TX-01", "TX-02"]}))

        for org_id, kind in (("塘下派出所", "police-station"), ("韩田村巡逻队", "village-patrol-team"),
                             ("安保公司", "security-company")):
            await ok(await http.post(f"{roster.url}/v1/organisations", headers=ORGANISER,
                                     json={"org_id": org_id, "name": org_id, "kind": kind}))
        imported = await ok(await http.post(f"{roster.url}/v1/member-imports", content=MEMBERS_CSV.encode(),
                                            headers={**ORGANISER, "content-type": "text/csv"}))
        assert imported["rejected"] == 0, imported
        await ok(await http.post(f"{roster.url}/v1/programmes", headers=ORGANISER,
                                 json={"programme_id": "TX", "name": "塘下镇轮值轮训", "level": "township"}))
        # three days from today: tomorrow's night is always inside patrol's round horizon, whatever the hour
        await ok(await http.post(f"{roster.url}/v1/programmes/TX/periods", headers=ORGANISER, json={
            "period_id": "263", "name": "第263期", "starts_on": today.isoformat(), "days": 3,
            "cohort": ["P1", "P2", "P3", "H1", "H2", "H3", "H4", "H5", "H6", "G1", "G2", "G3"],
            "rules": {"max_consecutive_nights": 2}}))
        await ok(await http.post(f"{roster.url}/v1/periods/263/duties", headers=ORGANISER, json={
            "duty_id": "night", "kind": "road-patrol", "title": "塘下镇夜间巡逻", "area": "塘下镇",
            "route_id": "R-TX-1", "team_id": "塘下一队", "start_time": "20:00", "end_time": "02:00",
            "required_size": 3, "composition": {"min_by_role": {"police": 1}, "min_civilians": 2}}))

        job = await ok(await http.post(f"{roster.url}/v1/periods/263/solve", headers=ORGANISER,
                                       json={"time_limit_s": 10}), 202)
        solved: dict[str, Any] = {}

        async def solve_finished() -> bool:
            solved.update(await ok(await http.get(f"{roster.url}/v1/solve-jobs/{job['job_id']}",
                                                  headers=ORGANISER)))
            return solved["status"] not in ("queued", "running")

        await eventually(solve_finished, timeout=90, what="the solve job to finish")
        assert solved["status"] == "done", solved
        await ok(await http.post(f"{roster.url}/v1/drafts/{solved['result']['draft_id']}/publish",
                                 headers=ORGANISER))
        shifts = (await ok(await http.get(f"{roster.url}/v1/shifts", headers=ORGANISER,
                                          params={"period_id": "263"})))["items"]
        nights = {s["shift_id"] for s in shifts if s["route_id"] == "R-TX-1"}
        assert len(nights) == 3, shifts

        plans: dict[str, dict[str, Any]] = {}

        async def every_night_planned() -> bool:
            listed = await ok(await http.get(f"{patrol.url}/v1/plans", headers=SUPERVISOR,
                                             params={"team_id": "塘下一队"}))
            plans.update({p["id"]: p for p in listed["items"]})
            return {f"shift:{s}" for s in nights} <= plans.keys()

        await eventually(every_night_planned, timeout=60, what="patrol to plan each published night patrol")
        for shift_id in nights:
            plan = plans[f"shift:{shift_id}"]
            assert (plan["team_id"], plan["route_id"]) == ("塘下一队", "R-TX-1"), plan
            assert (plan["window_start"], plan["window_end"]) == ("20:00", "02:00"), plan

        rounds = (await ok(await http.get(f"{patrol.url}/v1/rounds", headers=SUPERVISOR,
                                          params={"team_id": "塘下一队"})))["items"]
        planned_rounds = [r for r in rounds if str(r.get("plan_id", "")).startswith("shift:")]
        assert planned_rounds, rounds  # at least tomorrow night's, inside the horizon
        assert {r["route_id"] for r in planned_rounds} == {"R-TX-1"}, planned_rounds

        # the same events again change nothing: publishing the draft twice emits nothing new, and patrol's plans
        # stay as they are (one per shift)
        await ok(await http.post(f"{roster.url}/v1/drafts/{solved['result']['draft_id']}/publish",
                                 headers=ORGANISER))
        listed = await ok(await http.get(f"{patrol.url}/v1/plans", headers=SUPERVISOR,
                                         params={"team_id": "塘下一队"}))
        assert sorted(p["id"] for p in listed["items"]) == sorted(f"shift:{s}" for s in nights)
