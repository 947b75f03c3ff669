"""211 cycles (暗访周期): each with its phase and the days left in it, its dates and units; for inspectors and
supervisors (the service lets no unit or supervision-group member read cycles). An inspector opens one: name,
start, the phases' lengths and day basis, the units in scope (a unit already in an overlapping cycle is refused
by the service, naming the clash)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.inspection.common import Assessor, Staff, every_item, now_and_zone, unit_label, units
from console.pages.inspection.labels import DAY_BASES, PHASES, choices, named
from console.pages.inspection.timing import cycle_countdown, instant, last_day
from console.pages.inspection.uploads import segment
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.pages import Person, lang, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)


def _day(key: str) -> Any:
    return lambda row, lang: str(row.get(key) or "")[:10]


CYCLES = Table(
    columns=[
        Column("name", "周期", "Cycle", link=lambda row: f"/inspection/cycles/{segment(row['id'])}"),
        Column("id", "编号", "Id"),
        Column("phase", "阶段", "Phase", text=lambda row, lang: named(PHASES, row.get("phase"), lang)),
        Column("days_left", "剩余天数", "Days left", text=lambda row, lang: row["countdown"].text(lang)),
        Column("start_date", "开始日期", "Starts", text=_day("start_date")),
        Column("covert_ends_at", "暗访截止", "Covert phase ends", text=lambda row, lang: row["covert_last_day"]),
        Column("closes_at", "整改截止", "Rectification ends", text=lambda row, lang: row["last_day"]),
        Column("units", "单位数", "Units", text=lambda row, lang: str(len(row.get("unit_ids") or []))),
    ],
    filters=[Filter("phase", "阶段", "Phase", choices=choices(PHASES))],
    csv_name="cycles",
)


def _with_countdown(request: Request, cycle: dict[str, Any]) -> dict[str, Any]:
    """The cycle with the days left in its phase and its last days as local dates."""
    now, zone = now_and_zone(request)
    covert_ends, closes = instant(cycle.get("covert_ends_at")), instant(cycle.get("closes_at"))
    return {**cycle, "countdown": cycle_countdown(cycle, now, zone),
            "covert_last_day": last_day(covert_ends, zone).isoformat() if covert_ends else "",
            "last_day": last_day(closes, zone).isoformat() if closes else ""}


@router.get("/inspection/cycles")
async def cycle_list(request: Request, person: Assessor) -> Response:
    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        page = await person.services.get("inspection", "/v1/cycles", params=params)
        return {"items": [_with_countdown(request, c) for c in page.get("items") or []],
                "next_after": page.get("next_after")}

    return await CYCLES.respond(request, fetch,
                                lambda view: render(request, "inspection/cycles.html", person, table=view))


OPEN_FIELDS = ("id", "name", "start_date", "covert_days", "rectification_days", "day_basis", "unit_ids", "auto_next")


async def _open_form(request: Request, person: Person, form: Form, chosen: list[str], status_code: int = 200
                     ) -> Response:
    return render(request, "inspection/cycle_new.html", person, status_code=status_code, form=form, chosen=chosen,
                  units=await units(person), bases=choices(DAY_BASES))


@router.get("/inspection/cycles/new")
async def new_cycle(request: Request, person: Staff) -> Response:
    now, zone = now_and_zone(request)
    form = Form(fields=OPEN_FIELDS, values={"start_date": now.astimezone(zone).date().isoformat(),
                                            "covert_days": "14", "rectification_days": "14", "day_basis": "calendar"})
    return await _open_form(request, person, form, [])


@router.post("/inspection/cycles/new")
async def open_cycle(request: Request, person: Staff) -> Response:
    submitted = await request.form()
    form = Form.from_request_values(submitted, OPEN_FIELDS)
    chosen = [u for u in submitted.getlist("unit_ids") if isinstance(u, str)]
    body: dict[str, Any] = {"name": form.value("name"), "start_date": form.value("start_date") or None,
                            "day_basis": form.value("day_basis") or "calendar", "unit_ids": chosen,
                            "auto_next": form.value("auto_next") == "1"}
    if form.value("id").strip():
        body["id"] = form.value("id").strip()
    for name in ("covert_days", "rectification_days"):
        text = form.value(name).strip()
        if not text.isdigit():
            form.error(name, "请填写天数（整数） (a whole number of days)")
        else:
            body[name] = int(text)
    if form.failed:
        return await _open_form(request, person, form, chosen, status_code=422)
    try:
        opened = await person.services.post("inspection", "/v1/cycles", json=body)
    except ServiceRefused as refusal:
        return await _open_form(request, person, form.refused(refusal), chosen, status_code=refusal.status)
    return RedirectResponse(f"/inspection/cycles/{segment(opened['id'])}", status_code=303)


@router.get("/inspection/cycles/{cycle_id}")
async def cycle_page(request: Request, person: Assessor, cycle_id: str) -> Response:
    cycle = _with_countdown(request, await person.services.get("inspection", f"/v1/cycles/{segment(cycle_id)}"))
    names = {u["id"]: u["name"] for u in await units(person)}
    members = [{"id": u, "label": unit_label(names, u)} for u in cycle.get("unit_ids") or []]
    return render(request, "inspection/cycle.html", person, cycle=cycle, members=members,
                  phase=named(PHASES, cycle.get("phase"), lang(request)),
                  basis=named(DAY_BASES, cycle.get("day_basis"), lang(request)))


async def covert_cycles(person: Person) -> list[dict[str, Any]]:
    """The cycles open for findings now (their covert phase), for the finding form's picker."""
    return await every_item(person, "/v1/cycles", {"phase": "covert"}, cap=200)

