"""Checkpoints: every one on the map (by scan method) and in a table (filter, page, CSV), and a new one registered
with a form whose position is typed or clicked on the map. patrol judges each field; its refusal is shown by the
field it names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.patrol.common import SERVICE, Editor, map_config, method_label, page_of_rows, places, walk
from console.pages.patrol.rules import METHOD_LABELS, checkpoint_body, place_points
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.pages import render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

FIELDS = ("id", "tag", "name", "latitude", "longitude", "radius_m", "expected_method", "area")


def _position(row: dict[str, Any], lang: str) -> str:
    if row.get("latitude") is None:
        return ""
    return f"{row['latitude']:.6f}, {row['longitude']:.6f}"


CHECKPOINTS = Table(
    columns=[
        Column("id", "编号", "ID"),
        Column("name", "名称", "Name"),
        Column("tag", "标签内容", "Tag payload"),
        Column("expected_method", "扫码方式", "Scan method",
               text=lambda row, lang: method_label(row.get("expected_method"), lang)),
        Column("area_name", "所属地点", "Area", text=lambda row, lang: row.get("area_name") or row.get("area") or ""),
        Column("position", "经纬度", "Position", text=_position),
        Column("radius_m", "半径（米）", "Radius (m)", text=lambda row, lang: f"{row['radius_m']:g}"),
    ],
    filters=[Filter("q", "名称或编号", "Name or ID contains", max_length=100),
             Filter("method", "扫码方式", "Scan method", choices=[(k, *v) for k, v in METHOD_LABELS.items()])],
    csv_name="checkpoints",
)


def _matches(params: dict[str, str]) -> Any:
    text, method = params.get("q", "").casefold(), params.get("method")

    def keep(row: dict[str, Any]) -> bool:
        if text and text not in str(row.get("name", "")).casefold() and text not in str(row["id"]).casefold():
            return False
        return not method or row.get("expected_method") == method
    return keep


def _points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": r["id"], "name": r["name"], "lat": r["latitude"], "lon": r["longitude"],
             "method": r.get("expected_method") or "", "area": r.get("area_name") or r.get("area") or ""}
            for r in rows if r.get("latitude") is not None and r.get("longitude") is not None]


@router.get("/patrol/checkpoints")
async def checkpoint_list(request: Request, person: Editor) -> Response:
    every = await walk(person, "/v1/checkpoints")

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        return page_of_rows(every, params, _matches(params))

    if request.query_params.get("format") == "csv":
        return await CHECKPOINTS.respond(request, fetch, lambda view: Response())
    map_data = {"checkpoints": _points(every), "places": place_points(await places(person))}
    notice = "patrol.created" if request.query_params.get("done") == "created" else None
    return await CHECKPOINTS.respond(request, fetch, lambda view: render(
        request, "patrol/checkpoints.html", person, table=view, map_data=map_data, config=map_config(request),
        notice=notice))


async def _form_page(request: Request, person: Editor, form: Form, status_code: int = 200) -> Response:
    known = await walk(person, "/v1/checkpoints")
    found = await places(person)
    map_data = {"checkpoints": _points(known), "places": place_points(found), "pick": True}
    return render(request, "patrol/checkpoint_new.html", person, status_code=status_code, form=form,
                  map_data=map_data, config=map_config(request), place_names=sorted({p["name"] for p in found}),
                  methods=[("", "不限", "any"), *((k, *v) for k, v in METHOD_LABELS.items())])


@router.get("/patrol/checkpoints/new")
async def new_checkpoint_form(request: Request, person: Editor) -> Response:
    return await _form_page(request, person, Form(fields=FIELDS, values={"radius_m": "50"}))


@router.post("/patrol/checkpoints/new")
async def create_checkpoint(request: Request, person: Editor) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    try:
        await person.services.post(SERVICE, "/v1/checkpoints", json=checkpoint_body(form.values))
    except ServiceRefused as refusal:
        return await _form_page(request, person, form.refused(refusal), status_code=refusal.status)
    return RedirectResponse("/patrol/checkpoints?done=created", status_code=303)
