"""A roster the member pages' tests stand on, made through roster's API as an organiser would (members, a
programme, a three-night period, its night patrol, a solve, the publish), in a running city.

The period's cohort is exactly one night's crew (an officer and the member), so the solver has one answer: both on
every night. Two more members are registered outside the cohort: one free to take a night (a swap roster accepts),
one away on the second and third days (a swap roster refuses, naming ``to_member_id``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pingan_shared.auth import Role

from .city import City

START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai; the first night is tonight
FIRST_DAY = date(2026, 12, 7)
NIGHT_START_UTC_HOUR = 11  # 19:00 local
AREA, TEAM, ROUTE = "塘下镇", "一队", "R-1"
TITLE = "塘下镇夜间巡逻"
# The member pages' sessions last a working day: the tests move the shared clock across hours.
CONSOLE_SETTINGS: dict[str, Any] = {"session_idle_minutes": 24 * 60, "session_absolute_hours": 48}


def night_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, NIGHT_START_UTC_HOUR, 0, tzinfo=UTC)


def shift_path(shift_id: str) -> str:
    return f"/me/shifts/{quote(shift_id, safe='')}"


async def until(check: Any, what: str, timeout: float = 30.0) -> None:
    """Wait (polling) until ``await check()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def publish_member_roster(city: City, *, period_id: str, police: str, member: str, spare: str, away: str,
                                member_name: str = "李巡逻") -> list[dict[str, Any]]:
    """The period published; the member's shifts (soonest first) as roster lists them to an organiser."""
    organiser = city.token(Role.ORGANISER, "平安办组织者")
    people = [
        {"member_id": police, "name": "张警官", "org_id": "PS-TX", "role": "police"},
        {"member_id": member, "name": member_name, "org_id": TEAM, "role": "patrol-member", "team_id": TEAM},
        {"member_id": spare, "name": "王巡逻", "org_id": TEAM, "role": "patrol-member", "team_id": TEAM},
        {"member_id": away, "name": "赵巡逻", "org_id": TEAM, "role": "patrol-member", "team_id": TEAM,
         "unavailability": [{"from_day": (FIRST_DAY + timedelta(days=1)).isoformat(), "days": 2, "reason": "出差"}]},
    ]
    for person in people:
        await city.call("roster", "POST", "/v1/members", organiser, json=person)
    await city.call("roster", "POST", "/v1/programmes", organiser, json={
        "programme_id": f"P-{period_id}", "name": "塘下镇轮值轮训", "level": "township", "area": AREA})
    await city.call("roster", "POST", f"/v1/programmes/P-{period_id}/periods", organiser, json={
        "period_id": period_id, "name": f"第{period_id}期", "starts_on": FIRST_DAY.isoformat(), "days": 3,
        "cohort": [police, member]})
    await city.call("roster", "POST", f"/v1/periods/{period_id}/duties", organiser, json={
        "duty_id": "night", "kind": "road-patrol", "title": TITLE, "area": AREA, "route_id": ROUTE,
        "team_id": TEAM, "start_time": "19:00", "end_time": "23:00", "required_size": 2,
        "composition": {"min_by_role": {"police": 1}}})
    job = await city.call("roster", "POST", f"/v1/periods/{period_id}/solve", organiser, json={"time_limit_s": 5})
    seen: dict[str, Any] = {}

    async def solved() -> bool:
        seen.update(await city.call("roster", "GET", f"/v1/solve-jobs/{job['job_id']}", organiser))
        return seen["status"] not in ("queued", "running")

    await until(solved, f"the solve of {period_id}", timeout=60)
    assert seen["status"] == "done", seen
    await city.call("roster", "POST", f"/v1/drafts/{seen['result']['draft_id']}/publish", organiser)
    listed = await city.call("roster", "GET", "/v1/shifts", organiser,
                             params={"period_id": period_id, "member_id": member})
    shifts = sorted(listed["items"], key=lambda s: s["starts_at"])
    assert [s["member_ids"] for s in shifts] == [sorted([police, member])] * 3, shifts
    return shifts
