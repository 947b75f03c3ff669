"""211 cycles (暗访周期): each with its phase and the days left in it, its dates and units; for inspectors and
supervisors (the service lets no unit or supervision-group member read cycles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.inspection.common import Assessor, every_item, now_and_zone, unit_label, units
from console.pages.inspection.labels import DAY_BASES, PHASES, choices, named
from console.pages.inspection.timing import cycle_countdown, instant, last_day
from console.pages.inspection.uploads import segment
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

