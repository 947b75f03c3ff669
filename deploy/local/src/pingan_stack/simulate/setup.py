"""The city's set-up through the public APIs: the directory (the sample city and the run's own teams and units),
the supervisors' contacts (each township's supervisor and the city office on the simulator's webhook), patrol's
checkpoints and routes, roster's members and rotation programme, inspection's units and its 211 cycle. Every
write names its own id, so running it again (or retrying it) changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from pingan_shared.auth import Role
from pingan_stack.sample_directory import sample_csv
from pingan_stack.simulate.api import Api, Tokens
from pingan_stack.simulate.city import CityPlan, Team

T = TypeVar("T")

CITY = "330381"
CITY_OFFICE = "role:city-office"


def directory_csv(plan: CityPlan) -> bytes:
    """The sample city, then the run's teams (under their villages) and units (governments under their townships,
    departments under the city)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for team in plan.teams:
        writer.writerow([team.code, "patrol-team", team.name, team.village, "", ""])
    for unit, name, kind, township in plan.units:
        writer.writerow([unit, "government" if kind == "township" else "department", name, township or CITY, "", ""])
    return sample_csv().rstrip(b"\n") + b"\n" + out.getvalue().encode("utf-8")


async def load_directory(api: Api, tokens: Tokens, plan: CityPlan) -> None:
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")
    answer = await api.call("roster", "POST", "/v1/directory/imports", organiser | {"content-type": "text/csv"},
                            content=directory_csv(plan))
    if answer.body.get("rejected"):
        raise RuntimeError(f"目录导入有拒绝的行 (directory rows rejected): {answer.body}")
    reader = tokens.header(Role.SUPERVISOR, "市督查-模拟")
    codes = [plan.teams[-1].code, plan.units[-1][0]]
    for service in ("patrol", "inspection", "alerts"):  # each keeps its copy from roster's events
        for code in codes:
            for _ in range(600):
                if (await api.call(service, "GET", f"/v1/directory/entries/{quote(code)}", reader,
                                   ok=(200, 404))).status == 200:
                    break
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError(f"{service} 的目录副本没有 {code} ({service}'s directory copy never got {code})")


async def contacts(api: Api, tokens: Tokens, plan: CityPlan, webhook_url: str, secret: str) -> None:
    admin = tokens.header(Role.ADMIN, "平安办管理员-模拟")
    hook = {"webhook_url": webhook_url, "webhook_secrets": [secret]}

    async def put(target: str, body: dict[str, object]) -> None:
        await api.call("alerts", "PUT", f"/v1/contacts/{quote(target, safe=':')}", admin, json=body)

    await put(CITY_OFFICE, {"display_name": "市委政法委督查室（模拟）", **hook})
    await put("role:discipline-inspection", {"display_name": "市纪委（模拟）", **hook})
    await put("role:patrol-organiser", {"display_name": "市平安办巡防科（模拟）"})
    for supervisor in plan.supervisors:
        person = f"person:{supervisor.subject}"
        await put(person, {"display_name": supervisor.subject, "subject": supervisor.subject})
        await put(f"role:township-supervisor:{supervisor.township}",
                  {"display_name": f"{supervisor.township}督导（模拟）", "members": [person], **hook})
        await put(f"role:patrol-organiser:{supervisor.township}",
                  {"display_name": f"{supervisor.township}平安办（模拟）", "members": [person]})
    for unit, name, _, _ in plan.units:
        await put(f"unit:{unit}", {"display_name": name, **hook})


async def each(items: Iterable[T], work: Callable[[T], Awaitable[None]], *, at_once: int = 8) -> None:
    """``work`` on every item, a few at a time (a scaled city has hundreds of teams)."""
    gate = asyncio.Semaphore(at_once)

    async def one(item: T) -> None:
        async with gate:
            await work(item)

    await asyncio.gather(*(one(item) for item in items))


async def patrol_entities(api: Api, tokens: Tokens, plan: CityPlan) -> None:
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")

    async def team_entities(team: Team) -> None:
        for cp in team.checkpoints:
            await api.call("patrol", "POST", "/v1/checkpoints", organiser, json={
                "id": cp.id, "tag": cp.tag, "name": cp.name, "latitude": cp.latitude, "longitude": cp.longitude,
                "radius_m": 50, "expected_method": "nfc" if cp.nfc else "qr"})
        await api.call("patrol", "POST", "/v1/routes", organiser, ok=(200, 201, 409), json={
            "id": team.route_id, "name": f"{team.name}夜巡线", "area": team.township,
            "checkpoint_ids": [cp.id for cp in team.checkpoints]})

    await each(plan.teams, team_entities)


async def plans(api: Api, tokens: Tokens, plan: CityPlan, night: datetime) -> None:
    """Tonight's plan for every team: the window starting at ``night`` (local), its rounds back to back."""
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")
    end = night + plan_window(plan)

    async def team_plan(team: Team) -> None:
        await api.call("patrol", "POST", "/v1/plans", organiser, json={
            "id": team.plan_id, "team_id": team.code, "route_id": team.route_id, "first_date": night.date().isoformat(),
            "window_start": night.strftime("%H:%M"), "window_end": end.strftime("%H:%M"),
            "rounds_per_night": plan.rounds_per_night, "start_grace_minutes": plan.start_grace_minutes,
            "checkpoint_grace_minutes": plan.checkpoint_grace_minutes})

    await each(plan.teams, team_plan)


def plan_window(plan: CityPlan) -> timedelta:
    return timedelta(minutes=plan.night_minutes)


async def roster_entities(api: Api, tokens: Tokens, plan: CityPlan, starts_on: date) -> None:
    """The teams' members, their village patrol organisations, and a rotation programme (轮值轮训) whose period's
    cohort they are."""
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")

    async def team_members(team: Team) -> None:
        org = f"{team.code}-ORG"
        await api.call("roster", "POST", "/v1/organisations", organiser, ok=(200, 201, 409),
                       json={"org_id": org, "name": team.name, "kind": "village-patrol-team"})
        for member in team.members:
            await api.call("roster", "POST", "/v1/members", organiser, ok=(200, 201, 409), json={
                "member_id": member, "name": member, "org_id": org, "role": "patrol-member", "team_id": team.code,
                "app_member_id": member})

    await each(plan.teams, team_members)
    await api.call("roster", "POST", "/v1/programmes", organiser, ok=(200, 201, 409), json={
        "programme_id": f"{plan.run}-PG", "name": f"瑞安市轮值轮训（模拟{plan.run}）", "level": "city"})
    await api.call("roster", "POST", f"/v1/programmes/{plan.run}-PG/periods", organiser, ok=(200, 201, 409), json={
        "period_id": f"{plan.run}-1", "name": "第1期（模拟）", "starts_on": starts_on.isoformat(), "days": 2,
        "cohort": [m for team in plan.teams for m in team.members]})


async def inspection_entities(api: Api, tokens: Tokens, plan: CityPlan, start: date) -> str:
    """The run's units and its 211 cycle from ``start`` (a local midnight): one covert day, one of rectification.
    Returns the cycle's id."""
    inspector = tokens.header(Role.INSPECTOR, "暗访组-模拟")
    city_unit = plan.units[0][0]
    for unit, name, kind, _ in plan.units:
        await api.call("inspection", "POST", "/v1/units", inspector, ok=(200, 201, 409), json={
            "id": unit, "name": name, "kind": kind, "contact": "联络员（模拟）"}
            | ({"supervising_unit_id": city_unit} if unit != city_unit else {}))
    cycle_id = f"{plan.run}-211"
    await api.call("inspection", "POST", "/v1/cycles", inspector, ok=(200, 201, 409), json={
        "id": cycle_id, "name": f"2026年模拟第{plan.run}期", "start_date": start.isoformat(), "covert_days": 1,
        "rectification_days": 1, "unit_ids": [u for u, *_ in plan.units]})
    return cycle_id


async def rotation_roster(api: Api, tokens: Tokens, plan: CityPlan) -> list[dict[str, Any]]:
    """The period's day training (白天学习训练, in the first township), solved and published: its shifts."""
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")
    period = f"{plan.run}-1"
    await api.call("roster", "POST", f"/v1/periods/{period}/duties", organiser, ok=(200, 201, 409), json={
        "duty_id": "training", "kind": "training", "title": "白天学习训练", "area": plan.townships[0][0],
        "start_time": "08:30", "end_time": "11:30", "required_size": 2})
    job = (await api.call("roster", "POST", f"/v1/periods/{period}/solve", organiser,
                          json={"time_limit_s": 5})).body
    for _ in range(600):
        solved = await api.get("roster", f"/v1/solve-jobs/{job['job_id']}", organiser)
        if solved["status"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.2)
    if solved["status"] != "done" and not (solved.get("result") or {}).get("draft_id"):
        raise RuntimeError(f"排班求解失败 (the roster solve ended {solved['status']}): {solved}")
    await api.call("roster", "POST", f"/v1/drafts/{solved['result']['draft_id']}/publish", organiser)
    shifts = await api.pages("roster", "/v1/shifts", organiser, {"period_id": period}, limit=100)
    return sorted(shifts, key=lambda s: s["starts_at"])


async def swap(api: Api, tokens: Tokens, shift: dict[str, Any], cohort: list[str]) -> tuple[str, str] | None:
    """The shift's first member asks to hand it on (家中有事); the organiser approves the first cohort member the
    hard rules allow. Returns (from, to), or None if nobody may take it."""
    giver = shift["member_ids"][0]
    member = tokens.header(Role.MEMBER, giver)
    asked = (await api.call("roster", "POST", f"/v1/shifts/{quote(shift['shift_id'])}/swap-requests", member,
                            json={"note": "家中有事"})).body
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")
    for taker in (m for m in cohort if m not in shift["member_ids"]):
        answer = await api.call("roster", "POST", f"/v1/swap-requests/{asked['request_id']}/decision", organiser,
                                ok=(200, 409), json={"decision": "approve", "to_member_id": taker})
        if answer.status == 200 and answer.body.get("status") == "approved":
            return giver, taker
        if answer.uncertain:  # our approval landed and its answer was lost: the request is no longer pending
            return giver, taker
    return None
