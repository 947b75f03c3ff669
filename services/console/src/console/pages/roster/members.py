"""The members table (filter by organisation, team, name, role and whether active; pages; CSV) and a member's page:
their details to edit (roster replaces the member whole, days off included) and their recent shifts."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.roster.common import MEMBER_ROLES, SERVICE, Organiser, RosterId, choices, every, labelled, seg
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

messages({
    "roster.members.title": ("队员名册", "Members"),
    "roster.members.import": ("导入队员", "Import members"),
    "roster.members.id": ("队员编号", "Member id"),
    "roster.members.name": ("姓名", "Name"),
    "roster.members.org": ("所属组织", "Organisation"),
    "roster.members.role": ("身份", "Role"),
    "roster.members.team": ("巡逻队（扫码）", "Patrol team (scans)"),
    "roster.members.app_id": ("巡逻 App 中的编号", "Id in the patrol app"),
    "roster.members.skills": ("技能", "Skills"),
    "roster.members.skills_hint": ("多个技能用分号隔开，如 急救;驾驶。",
                                   "Separate skills with ;, e.g. first-aid;driving."),
    "roster.members.phone": ("电话", "Phone"),
    "roster.members.email": ("电子邮箱", "E-mail"),
    "roster.members.active": ("状态", "State"),
    "roster.members.active_yes": ("在册", "active"),
    "roster.members.active_no": ("已停用", "inactive"),
    "roster.members.leave": ("不可排班日期", "Days off duty"),
    "roster.members.leave_hint": ("每行一段：开始日期 天数 原因，如 2026-12-08 3 出差。",
                                  "One per line: first day, number of days, reason — e.g. 2026-12-08 3 business trip."),
    "roster.members.saved": ("队员信息已保存。", "Member saved."),
    "roster.members.shifts": ("最近班次", "Recent shifts"),
})

FIELDS = ("name", "org_id", "role", "skills", "phone", "email", "team_id", "app_member_id", "active",
          "unavailability")
ACTIVE_CHOICES = [("true", "在册", "active"), ("false", "已停用", "inactive")]


def _active_text(row: dict[str, Any], lang: str) -> str:
    return labelled({"True": ("在册", "active"), "False": ("已停用", "inactive")}, row.get("active"), lang)


MEMBERS = Table(
    columns=[
        Column("member_id", "队员编号", "Member id", link=lambda row: f"/roster/members/{seg(row['member_id'])}"),
        Column("name", "姓名", "Name"),
        Column("org_id", "所属组织", "Organisation"),
        Column("role", "身份", "Role", text=lambda row, lang: labelled(MEMBER_ROLES, row.get("role"), lang)),
        Column("team_id", "巡逻队", "Team"),
        Column("skills", "技能", "Skills"),
        Column("phone", "电话", "Phone"),
        Column("active", "状态", "State", text=_active_text),
    ],
    filters=[Filter("org_id", "所属组织", "Organisation", max_length=64),
             Filter("team_id", "巡逻队", "Team", max_length=64),
             Filter("name", "姓名或编号", "Name or id", max_length=64),
             Filter("role", "身份", "Role", choices=choices(MEMBER_ROLES)),
             Filter("active", "状态", "State", choices=ACTIVE_CHOICES)],
    csv_name="members",
)


@router.get("/roster/members")
async def member_list(request: Request, person: Organiser) -> Response:
    orgs = await every(person, "/v1/organisations", limit=500)
    table = MEMBERS
    if orgs:  # the organisations to pick from, by name (a text box when there are none to offer)
        org_filter = Filter("org_id", "所属组织", "Organisation",
                            choices=[(o["org_id"], o["name"], o["name"]) for o in orgs])
        table = dataclasses.replace(MEMBERS, filters=[org_filter, *MEMBERS.filters[1:]])

    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get(SERVICE, "/v1/members", params=params)

    return await table.respond(request, fetch, lambda view: render(request, "roster/members.html", person,
                                                                   table=view))


def member_values(member: dict[str, Any]) -> dict[str, str]:
    """A member as the edit form shows it (days off one per line)."""
    values = {name: "" if member.get(name) is None else str(member[name]) for name in FIELDS}
    values["skills"] = ";".join(member.get("skills") or [])
    values["active"] = "true" if member.get("active", True) else "false"
    values["unavailability"] = "\n".join(f"{u['from_day']} {u['days']} {u.get('reason', '')}".strip()
                                         for u in member.get("unavailability") or [])
    return values


def member_body(member_id: str, form: Form) -> dict[str, Any]:
    """What the form says, as roster's member: roster judges every value (a day that is no date, days that are no
    number), and its refusal names the field."""
    body: dict[str, Any] = {"member_id": member_id, "name": form.value("name").strip(),
                            "org_id": form.value("org_id").strip(), "role": form.value("role"),
                            "skills": [s.strip() for s in form.value("skills").replace("；", ";").split(";")
                                       if s.strip()],
                            "active": form.value("active") != "false", "unavailability": []}
    for name in ("phone", "email", "team_id", "app_member_id"):
        if form.value(name).strip():
            body[name] = form.value(name).strip()
    for line in form.value("unavailability").splitlines():
        parts = line.split(maxsplit=2)
        if parts:
            days: str | int = parts[1] if len(parts) > 1 else 1
            body["unavailability"].append({"from_day": parts[0], "days": int(days) if str(days).isdigit() else days,
                                           "reason": parts[2] if len(parts) > 2 else ""})
    return body


async def _member_page(request: Request, person: Organiser, member_id: str, form: Form | None = None,
                       status_code: int = 200) -> Response:
    member = await person.services.get(SERVICE, f"/v1/members/{seg(member_id)}")
    shifts = await person.services.get(SERVICE, "/v1/shifts", params={"member_id": member_id, "limit": "20"})
    notice = "roster.members.saved" if request.query_params.get("done") == "saved" else None
    return render(request, "roster/member.html", person, status_code=status_code, member=member,
                  form=form or Form(fields=FIELDS, values=member_values(member)), roles=choices(MEMBER_ROLES),
                  actives=ACTIVE_CHOICES, shifts=shifts.get("items", []), notice=notice)


@router.get("/roster/members/{member_id}")
async def member_page(request: Request, person: Organiser, member_id: RosterId) -> Response:
    return await _member_page(request, person, member_id)


@router.post("/roster/members/{member_id}")
async def save_member(request: Request, person: Organiser, member_id: RosterId) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    try:
        await person.services.put(SERVICE, f"/v1/members/{seg(member_id)}", json=member_body(member_id, form))
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _member_page(request, person, member_id, form.refused(refusal), refusal.status)
    return RedirectResponse(f"/roster/members/{seg(member_id)}?done=saved", status_code=303)
