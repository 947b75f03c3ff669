"""Editing one entry: its name, the place above it (typed as a code or a name), its position and outline, and
whether it is retired. roster takes the entry whole (``PUT /v1/directory/entries/{code}``) and checks it — a parent
that is unknown or not a place of a higher level, a name left blank, a latitude out of range, an outline that is
not GeoJSON — and each refusal is shown under the field it names, with what was typed kept. A code keeps its kind
for good, so the kind is shown, not edited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.directory.common import SERVICE, Code, api_path, entry_path, find_place, kind_label
from console.pages.directory.rules import FORM_FIELDS, RETIRED_CHOICES, crumbs, entry_body, form_values
from console.pages.roster.common import Organiser
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import Person, lang, render

router = APIRouter(include_in_schema=False)

messages({
    "directory.edit_title": ("修改条目", "Edit entry"),
    "directory.name": ("名称", "Name"),
    "directory.parent_field": ("上级地点（编码或名称）", "Parent place (code or name)"),
    "directory.parent_hint": ("地点填所在的上一级地点（市之下必填）；组织填所服务的地点。",
                              "A place: the place it lies in (required below the city); an organisation: the place "
                              "it serves."),
    "directory.latitude": ("纬度", "Latitude"),
    "directory.longitude": ("经度", "Longitude"),
    "directory.geometry": ("轮廓（GeoJSON 几何对象，可不填）", "Outline (a GeoJSON geometry, optional)"),
    "directory.geometry_hint": ('如 {"type": "Polygon", "coordinates": [[[120.65, 27.84], …]]}，用于地图。',
                                'e.g. {"type": "Polygon", "coordinates": [[[120.65, 27.84], …]]}, for maps.'),
    "directory.state": ("状态", "State"),
})


def _form_page(request: Request, person: Person, entry: dict[str, Any], form: Form,
               status_code: int = 200) -> Response:
    return render(request, "directory/edit.html", person, entry=entry, form=form, crumbs=crumbs(entry),
                  kind=kind_label(entry.get("kind"), lang(request)),
                  retired_choices=RETIRED_CHOICES, status_code=status_code)


@router.get("/directory/entries/{code}/edit")
async def edit_form(request: Request, person: Organiser, code: Code) -> Response:
    entry = await person.services.get(SERVICE, api_path(code))
    return _form_page(request, person, entry, Form(fields=FORM_FIELDS, values=form_values(entry)))


@router.post("/directory/entries/{code}/edit")
async def save_entry(request: Request, person: Organiser, code: Code) -> Response:
    entry = await person.services.get(SERVICE, api_path(code))
    form = Form.from_request_values(await request.form(), FORM_FIELDS)
    body = entry_body(entry, form.values)
    if body["parent"] and body["parent"] != entry.get("parent"):
        # a name (塘下镇) stands for its code; anything else goes as typed and roster says why it is no parent
        body["parent"] = await find_place(person, body["parent"]) or body["parent"]
    try:
        answer = await person.services.put(SERVICE, api_path(code), json=body)
    except ServiceRefused as refusal:
        return _form_page(request, person, entry, form.refused(refusal), status_code=refusal.status)
    done = "unchanged" if answer.get("status") == "unchanged" else "updated"
    return RedirectResponse(f"{entry_path(code)}?done={done}", status_code=303)
