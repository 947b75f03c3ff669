"""Reading back what each service recorded, through the same public APIs (the reconciliation's "what they saw"),
into plain data the pure comparison (``reconcile``) takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pingan_shared.auth import Role
from pingan_stack.simulate.api import Api, Tokens
from pingan_stack.simulate.city import CityPlan, Team
from pingan_stack.simulate.drive import is_ours
from pingan_stack.simulate.setup import each


@dataclass
class Observed:
    rounds: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # (team, index) → round detail
    flags: set[tuple[str, str]] = field(default_factory=set)  # (scan id, kind)
    hazards: set[str] = field(default_factory=set)  # client hazard ids patrol holds
    attendance: dict[str, int] = field(default_factory=dict)  # team → scans roster counted
    members: int = 0  # the run's members roster holds
    shifts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the period's published shifts
    tasks: list[dict[str, Any]] = field(default_factory=list)  # the cycle's and the hazards' tasks
    task_timelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the run's alerts
    alert_timelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    inbox: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # supervisor subject → messages
    webhook: list[dict[str, Any]] = field(default_factory=list)  # notifications received (once per key)
    redelivered: int = 0
    observed_at: str = ""


async def observe(api: Api, tokens: Tokens, plan: CityPlan, cycle_id: str) -> Observed:
    seen = Observed()
    organiser = tokens.header(Role.ORGANISER, "平安办-模拟")
    city = tokens.header(Role.SUPERVISOR, "市督查-模拟")
    admin = tokens.header(Role.ADMIN, "平安办管理员-模拟")
    seen.observed_at = tokens.clock.now().isoformat()

    async def team_record(team: Team) -> None:
        listed = await api.pages("patrol", "/v1/rounds", organiser, {"team_id": team.code})
        ours = sorted((r for r in listed if r["plan_id"] == team.plan_id), key=lambda r: r["starts_at"])
        for index, summary in enumerate(ours):
            seen.rounds[(team.code, index)] = await api.get("patrol", f"/v1/rounds/{quote(summary['id'])}", city)
        for flag in await api.pages("patrol", "/v1/flags", organiser, {"team_id": team.code}):
            seen.flags.add((flag["scan_id"], flag["kind"]))
        attendance = await api.get("roster", "/v1/attendance", city, params={"team_id": team.code})
        seen.attendance[team.code] = int(attendance["total_scans"])
        for member in team.members:
            answer = await api.call("roster", "GET", f"/v1/members/{quote(member)}", organiser, ok=(200, 404))
            seen.members += answer.status == 200

    await each(plan.teams, team_record)
    for shift in await api.pages("roster", "/v1/shifts", organiser, {"period_id": f"{plan.run}-1"}, limit=100):
        seen.shifts[shift["shift_id"]] = shift
    for hazard in await api.pages("patrol", "/v1/hazards", organiser):
        if str(hazard.get("client_hazard_id", "")).startswith(f"{plan.run}-"):
            seen.hazards.add(hazard["client_hazard_id"])
    for unit, *_ in plan.units:
        for task in await api.pages("inspection", "/v1/tasks", city, {"unit_id": unit}, limit=100):
            seen.tasks.append(task)
            seen.task_timelines[task["id"]] = await api.get("inspection", f"/v1/tasks/{task['id']}/timeline", city)
    for alert in await api.pages("alerts", "/v1/alerts", admin):
        if is_ours(plan.run, alert):
            seen.alerts.append(alert)
            seen.alert_timelines[alert["id"]] = await api.get("alerts", f"/v1/alerts/{alert['id']}/timeline", admin)
    for supervisor in plan.supervisors:
        token = tokens.header(Role.SUPERVISOR, supervisor.subject, scope=supervisor.township)
        messages: list[dict[str, Any]] = []
        before = None
        while True:
            page = await api.get("alerts", "/v1/inbox", token,
                                 params={"limit": 200} | ({"before": before} if before else {}))
            messages += page["items"]
            before = page.get("next_before")
            if not before:
                break
        seen.inbox[supervisor.subject] = messages
    return seen
