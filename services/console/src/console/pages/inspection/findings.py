"""暗访发现: an inspector or a supervision-group member records a finding during a cycle's covert phase — the unit
(township, department or both), category, severity, the place (picked from the directory or typed), what was
seen, and photos uploaded with the form — and reads the findings (a member only their own: the service decides).

A finding is sealed: no unit page links to these routes, a unit's session is refused them by role, and the photos
they carry are served only through a finding or task the person may read (``photos.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.pages.inspection.common import Recorder, every_item, unit_label, units
from console.pages.inspection.cycles import covert_cycles
from console.pages.inspection.labels import CATEGORIES, SEVERITIES, choices, named
from console.pages.inspection.uploads import (
    PHOTOS_FIELD,
    kept_value,
    photo_views,
    picker_limits,
    receive_photos,
    segment,
    texts,
)
from console.photos.evidence import parse_reference
from console.photos.store import PhotoNotFound
from console.photos.upload import load_facts
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.pages import Person, console, lang, render
from console.web.tables import Column, Filter, Table
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

FIELDS = ("id", "cycle_id", "township_unit_id", "department_unit_id", "category", "severity", "place", "description",
          PHOTOS_FIELD)
# the service's model-wide refusal ("a township, a department or both") belongs by the township's picker
FIELD_MAP = {"body": "township_unit_id", "body.evidence": PHOTOS_FIELD, "body.latitude": PHOTOS_FIELD,
             "body.longitude": PHOTOS_FIELD}
PLACE_KINDS = frozenset({"city", "township", "village", "grid"})


def _findings_table(names: dict[str, str], person: Person) -> Table:
    columns = [
        Column("id", "编号", "Id", link=lambda row: f"/inspection/findings/{segment(row['id'])}"),
        Column("cycle_id", "周期", "Cycle"),
        Column("units", "责任单位", "Units", text=lambda row, lang: "、".join(
            unit_label(names, u) for u in (row.get("township_unit_id"), row.get("department_unit_id")) if u)),
        Column("category", "类别", "Category", text=lambda row, lang: named(CATEGORIES, row.get("category"), lang)),
        Column("severity", "严重程度", "Severity", text=lambda row, lang: named(SEVERITIES, row.get("severity"), lang)),
        Column("place", "地点", "Place"),
        Column("description", "问题描述", "Description", text=lambda row, lang: _short(row.get("description"))),
        Column("recorded_at", "记录时间", "Recorded", text=lambda row, lang: str(row.get("recorded_at", ""))[:16]
               .replace("T", " ")),
    ]
    if person.role is not Role.SUPERVISION_MEMBER:
        columns.append(Column("recorded_by", "记录人", "Recorded by"))
    return Table(columns=columns, csv_name="findings",
                 filters=[Filter("cycle_id", "周期编号", "Cycle id", max_length=64),
                          Filter("unit_id", "单位", "Unit", choices=[(k, v, v) for k, v in sorted(names.items())])])


def _short(text: Any, length: int = 60) -> str:
    text = str(text or "")
    return text if len(text) <= length else text[:length] + "…"


@router.get("/inspection/findings")
async def finding_list(request: Request, person: Recorder) -> Response:
    names = {u["id"]: u["name"] for u in await units(person)}

    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get("inspection", "/v1/findings", params=params)

    notice = "inspection.recorded" if request.query_params.get("done") == "recorded" else None
    return await _findings_table(names, person).respond(
        request, fetch, lambda view: render(request, "inspection/findings.html", person, table=view, notice=notice))


async def _form_page(request: Request, person: Person, form: Form, kept: list[str], status_code: int = 200) -> Response:
    """The finding form: cycles in their covert phase (an inspector's picker; a member types the id the 平安办 gave,
    helped by the cycles of their own earlier findings), the units by kind, the directory's places."""
    everything = await units(person)
    cycles: list[dict[str, Any]] = []
    known_cycle_ids: list[str] = []
    if person.role is Role.SUPERVISION_MEMBER:
        mine = await every_item(person, "/v1/findings", cap=500)
        known_cycle_ids = sorted({f["cycle_id"] for f in mine})
    else:
        cycles = await covert_cycles(person)
        if len(cycles) == 1 and not form.value("cycle_id"):
            form.values["cycle_id"] = cycles[0]["id"]
    in_scope = next((set(c.get("unit_ids") or []) for c in cycles if c["id"] == form.value("cycle_id")), None)
    chosen = [u for u in everything if in_scope is None or u["id"] in in_scope]
    townships = [u for u in chosen if u.get("kind") == "township"]
    departments = [u for u in chosen if u.get("kind") == "department"]
    township = next((u for u in townships if u["id"] == form.value("township_unit_id")), None)
    places = await _places(person, township.get("place") if township else None)
    kept_photos = [{"value": kept_value(person, ref), "label": await _kept_label(request, ref)} for ref in kept]
    return render(request, "inspection/finding_new.html", person, status_code=status_code, form=form,
                  cycle_choices=[(c["id"], f"{c['name']}（{c['id']}）", f"{c['name']} ({c['id']})") for c in cycles],
                  known_cycle_ids=known_cycle_ids, township_choices=_unit_choices(townships),
                  department_choices=_unit_choices(departments), places=places, kept=kept_photos,
                  categories=choices(CATEGORIES), severities=choices(SEVERITIES),
                  picker=picker_limits(console(request)))


def _unit_choices(found: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [("", "（无）", "(none)")] + [(u["id"], f"{u['name']}（{u['id']}）", f"{u['name']} ({u['id']})")
                                       for u in found]


async def _kept_label(request: Request, reference: str) -> str:
    try:
        facts = await load_facts(console(request).photos, parse_reference(reference))
    except (PhotoNotFound, ValueError, KeyError, TypeError):  # a courtesy: the reference itself is what is kept
        return reference[6:18]
    caption = facts.caption("en" if lang(request) == "en" else "zh")
    return f"{facts.width}×{facts.height}" + (f" · {caption}" if caption else "")


async def _places(person: Person, under: str | None) -> list[dict[str, Any]]:
    """The directory's places (beneath the township's, when one is chosen) for the place picker."""
    params = {"under": under} if under else {}
    entries = await person.services.get("inspection", "/v1/directory/entries", params={**params, "limit": "500"})
    return [e for e in entries.get("items") or [] if e.get("kind") in PLACE_KINDS and not e.get("retired")]


@router.get("/inspection/findings/new")
async def new_finding(request: Request, person: Recorder) -> Response:
    form = Form(fields=FIELDS, values={"id": uuid.uuid4().hex, "severity": "medium"})
    for name in ("cycle_id", "township_unit_id", "department_unit_id"):
        if value := request.query_params.get(name, "").strip()[:64]:
            form.values[name] = value
    return await _form_page(request, person, form, [])


@router.get("/inspection/places")
async def place_options(request: Request, person: Recorder) -> Response:
    """The place picker's options beneath the chosen township (htmx swaps them in when the township changes)."""
    everything = await units(person)
    chosen = next((u for u in everything if u["id"] == request.query_params.get("township_unit_id")), None)
    places = await _places(person, chosen.get("place") if chosen else None)
    html = request.app.state.templates.get_template("inspection/_places.html").render(places=places)
    return HTMLResponse(html)


@router.post("/inspection/findings/new")
async def record_finding(request: Request, person: Recorder) -> Response:
    submitted = await request.form()
    form = Form.from_request_values(submitted, FIELDS)
    upload = await receive_photos(console(request), person, submitted)
    for reason in upload.refusals:
        form.error(PHOTOS_FIELD, reason)
    if form.failed:
        return await _form_page(request, person, form, upload.references, status_code=422)
    body: dict[str, Any] = {
        "id": form.value("id") or None, "cycle_id": form.value("cycle_id"),
        "township_unit_id": form.value("township_unit_id") or None,
        "department_unit_id": form.value("department_unit_id") or None,
        "category": form.value("category"), "severity": form.value("severity") or "medium",
        "place": form.value("place"), "description": form.value("description"), "evidence": upload.references,
    }
    position = await _first_position(request, upload.references)
    if position is not None:
        body["latitude"], body["longitude"] = position
    try:
        recorded = await person.services.post("inspection", "/v1/findings", json=body)
    except ServiceRefused as refusal:
        return await _form_page(request, person, form.refused(refusal, FIELD_MAP), upload.references,
                                status_code=refusal.status)
    return RedirectResponse(f"/inspection/findings/{segment(recorded['id'])}?done=recorded", status_code=303)


async def _first_position(request: Request, references: list[str]) -> tuple[float, float] | None:
    """Where the first photo that knows it was taken (its EXIF GPS): the finding's position."""
    for reference in references:
        try:
            facts = await load_facts(console(request).photos, parse_reference(reference))
        except (PhotoNotFound, ValueError, KeyError, TypeError):  # no facts, no position: the next may tell
            continue
        if facts.position is not None:
            return facts.position.latitude, facts.position.longitude
    return None


@router.get("/inspection/findings/{finding_id}")
async def finding_page(request: Request, person: Recorder, finding_id: str) -> Response:
    finding = await person.services.get("inspection", f"/v1/findings/{segment(finding_id)}")
    names = {u["id"]: u["name"] for u in await units(person)}
    language = lang(request)
    evidence = finding.get("evidence") or []
    return render(request, "inspection/finding.html", person, finding=finding,
                  units=[unit_label(names, u) for u in (finding.get("township_unit_id"),
                                                        finding.get("department_unit_id")) if u],
                  category=named(CATEGORIES, finding.get("category"), language),
                  severity=named(SEVERITIES, finding.get("severity"), language),
                  photos_of_finding=await photo_views(console(request), "finding", finding["id"], evidence,
                                                      language),
                  notes=texts(evidence),
                  notice="inspection.recorded" if request.query_params.get("done") == "recorded" else None)
