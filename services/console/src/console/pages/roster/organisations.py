"""Organisations whose people stand duty (村居巡逻队, 保安公司, 民兵连, 派出所): the list (filter by kind, pages, CSV)
and registering one. roster checks each field (an area must be a place of its directory) and its refusal is shown
next to the field it names."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.roster.common import ORG_KINDS, SERVICE, Organiser, choices, labelled
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

messages({
    "roster.orgs.title": ("组织与队伍", "Organisations"),
    "roster.orgs.new": ("登记组织", "Register an organisation"),
    "roster.orgs.id": ("组织代码", "Organisation code"),
    "roster.orgs.id_hint": ("目录中的代码，或新代码（如 塘下一队）。", "A code of the directory, or a new one."),
    "roster.orgs.name": ("名称", "Name"),
    "roster.orgs.kind": ("类型", "Kind"),
    "roster.orgs.area": ("所在地点", "Area"),
    "roster.orgs.area_hint": ("目录中的地点代码或名称（如 塘下镇）。", "A place of the directory, by code or name."),
    "roster.orgs.created": ("组织已登记。", "Organisation registered."),
    "roster.orgs.members": ("队员", "Members"),
})

FIELDS = ("org_id", "name", "kind", "area")

ORGANISATIONS = Table(
    columns=[
        Column("org_id", "组织代码", "Code"),
        Column("name", "名称", "Name"),
        Column("kind", "类型", "Kind", text=lambda row, lang: labelled(ORG_KINDS, row.get("kind"), lang)),
        Column("area", "所在地点", "Area"),
        Column("members", "队员", "Members", text=lambda row, lang: "→",
               link=lambda row: f"/roster/members?{urlencode({'org_id': row['org_id']})}"),
    ],
    filters=[Filter("kind", "类型", "Kind", choices=choices(ORG_KINDS))],
    csv_name="organisations",
)


@router.get("/roster/organisations")
async def organisation_list(request: Request, person: Organiser) -> Response:
    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get(SERVICE, "/v1/organisations", params=params)

    notice = "roster.orgs.created" if request.query_params.get("done") == "created" else None
    return await ORGANISATIONS.respond(request, fetch, lambda view: render(
        request, "roster/organisations.html", person, table=view, notice=notice))


def _form_page(request: Request, person: Organiser, form: Form, status_code: int = 200) -> Response:
    return render(request, "roster/organisation_new.html", person, form=form, kinds=choices(ORG_KINDS),
                  status_code=status_code)


@router.get("/roster/organisations/new")
async def new_organisation(request: Request, person: Organiser) -> Response:
    return _form_page(request, person, Form(fields=FIELDS, values={"kind": "village-patrol-team"}))


@router.post("/roster/organisations/new")
async def register_organisation(request: Request, person: Organiser) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    body = {name: form.value(name).strip() for name in FIELDS}
    if not body["area"]:
        body.pop("area")
    try:
        await person.services.post(SERVICE, "/v1/organisations", json=body)
    except ServiceRefused as refusal:
        return _form_page(request, person, form.refused(refusal), status_code=refusal.status)
    return RedirectResponse("/roster/organisations?done=created", status_code=303)
