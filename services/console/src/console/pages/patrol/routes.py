"""Routes: the list (filter, page, CSV), a route's page (its checkpoints in order on a map, every version), and
creating or editing one — an edit is a new version in patrol, which moves the rounds not yet started to it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.patrol import common
from console.pages.patrol.common import SERVICE, Editor, ItemId, Overseer, item_path, map_config, walk
from console.pages.patrol.rules import map_route, place_points, route_body
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.pages import Person, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

NEW_FIELDS = ("id", "name", "area", "ordered", "checkpoint_ids")
EDIT_FIELDS = ("name", "area", "ordered", "checkpoint_ids")
NOTICES = {"created": "patrol.created", "saved": "patrol.saved", "unchanged": "patrol.unchanged"}

ROUTES = Table(
    columns=[
        Column("id", "编号", "ID", link=lambda row: f"/patrol/routes/{row['id']}"),
        Column("name", "名称", "Name"),
        Column("area_name", "所属地点", "Area", text=lambda row, lang: row.get("area_name") or row.get("area") or ""),
        Column("ordered", "顺序", "Order", text=lambda row, lang: ("按顺序" if lang != "en" else "in order")
               if row["ordered"] else ("不限顺序" if lang != "en" else "any order")),
        Column("count", "点位数", "Checkpoints", text=lambda row, lang: str(len(row["checkpoint_ids"]))),
        Column("version", "版本", "Version"),
    ],
    filters=[Filter("q", "名称或编号", "Name or ID contains", max_length=100)],
    csv_name="routes",
)


@router.get("/patrol/routes")
async def route_list(request: Request, person: Overseer) -> Response:
    every = await walk(person, "/v1/routes")

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        text = params.get("q", "").casefold()
        return common.page_of_rows(every, params, lambda row: not text or text in row["name"].casefold()
                            or text in row["id"].casefold())

    return await ROUTES.respond(request, fetch, lambda view: render(request, "patrol/routes.html", person,
                                                                    table=view))


async def _form_page(request: Request, person: Person, form: Form, *, route_id: str | None = None,
                     status_code: int = 200) -> Response:
    checkpoints = await walk(person, "/v1/checkpoints")
    found = await common.places(person)
    return render(request, "patrol/route_form.html", person, status_code=status_code, form=form,
                  route_id=route_id, checkpoints=checkpoints, place_names=sorted({p["name"] for p in found}))


@router.get("/patrol/routes/new")
async def new_route_form(request: Request, person: Editor) -> Response:
    return await _form_page(request, person, Form(fields=NEW_FIELDS, values={"ordered": "1"}))


@router.post("/patrol/routes/new")
async def create_route(request: Request, person: Editor) -> Response:
    form = Form.from_request_values(await request.form(), NEW_FIELDS)
    try:
        saved = await person.services.post(SERVICE, "/v1/routes", json=route_body(form.values, with_id=True))
    except ServiceRefused as refusal:
        return await _form_page(request, person, form.refused(refusal), status_code=refusal.status)
    done = "created" if saved.get("outcome") == "created" else "unchanged"
    return RedirectResponse(f"/patrol/routes/{saved['id']}?done={done}", status_code=303)


@router.get("/patrol/routes/{route_id}")
async def route_page(request: Request, person: Overseer, route_id: ItemId) -> Response:
    route = await person.services.get(SERVICE, item_path("routes", route_id))
    checkpoints = {c["id"]: c for c in await walk(person, "/v1/checkpoints")}
    map_data = {"routes": [map_route(route, checkpoints, state="route")],
                "places": place_points(await common.places(person))}
    return render(request, "patrol/route.html", person, route=route, checkpoints=checkpoints, map_data=map_data,
                  config=map_config(request), notice=NOTICES.get(request.query_params.get("done", "")),
                  may_edit=person.role.value in ("organiser", "admin"))


@router.get("/patrol/routes/{route_id}/edit")
async def edit_route_form(request: Request, person: Editor, route_id: ItemId) -> Response:
    route = await person.services.get(SERVICE, item_path("routes", route_id))
    values = {"name": route["name"], "area": route.get("area_name") or route.get("area") or "",
              "ordered": "1" if route["ordered"] else "", "checkpoint_ids": "\n".join(route["checkpoint_ids"])}
    return await _form_page(request, person, Form(fields=EDIT_FIELDS, values=values), route_id=route["id"])


@router.post("/patrol/routes/{route_id}/edit")
async def edit_route(request: Request, person: Editor, route_id: ItemId) -> Response:
    form = Form.from_request_values(await request.form(), EDIT_FIELDS)
    try:
        saved = await person.services.put(SERVICE, item_path("routes", route_id),
                                          json=route_body(form.values, with_id=False))
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _form_page(request, person, form.refused(refusal), route_id=route_id,
                                status_code=refusal.status)
    done = "unchanged" if saved.get("outcome") == "unchanged" else "saved"
    return RedirectResponse(f"/patrol/routes/{saved['id']}?done={done}", status_code=303)
