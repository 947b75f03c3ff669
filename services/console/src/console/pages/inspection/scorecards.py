"""考核排名: a closed cycle's scorecard — its units ranked (on-time rate, then fewest still open, then fewest revisit
rejections; the service ranks), the bundled township + department pairs, a bar chart of the on-time rates
(ECharts, drawn by static/inspection.js from the figures in the page), and a CSV export. A scoped supervisor gets
its scope's rows, ranked city-wide (the service decides)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.inspection.common import Assessor, unit_label, units
from console.pages.inspection.timing import percent
from console.pages.inspection.uploads import segment
from console.services import ServiceRefused
from console.web.pages import lang, render
from console.web.tables import Column, Table, csv_response

router = APIRouter(include_in_schema=False)

CLOSED_CYCLES = Table(
    columns=[
        Column("name", "周期", "Cycle", link=lambda row: f"/inspection/scorecards/{segment(row['id'])}"),
        Column("id", "编号", "Id"),
        Column("start_date", "开始日期", "Starts"),
        Column("closed_at", "结束时间", "Closed", text=lambda row, lang: str(row.get("closed_at") or "")[:10]),
        Column("units", "单位数", "Units", text=lambda row, lang: str(len(row.get("unit_ids") or []))),
    ],
    extra={"phase": "closed"},
    csv_name="closed-cycles",
)


def score_columns(names: dict[str, str]) -> list[Column]:
    def subject(row: Any, lang: str) -> str:
        return " + ".join(unit_label(names, u) for u in row.get("units") or [row.get("subject")])

    return [
        Column("rank", "排名", "Rank"),
        Column("subject", "考核对象", "Assessed", text=subject),
        Column("findings", "问题数", "Findings"),
        Column("rectified_on_time", "按期整改", "On time"),
        Column("rectified_late", "逾期整改", "Late"),
        Column("still_open", "未整改", "Still open"),
        Column("revisit_rejections", "回访未通过", "Revisits rejected"),
        Column("on_time_rate", "按期整改率", "On-time rate", text=lambda row, lang: percent(row.get("on_time_rate"))),
    ]


@router.get("/inspection/scorecards")
async def scorecard_index(request: Request, person: Assessor) -> Response:
    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get("inspection", "/v1/cycles", params=params)

    return await CLOSED_CYCLES.respond(request, fetch,
                                       lambda view: render(request, "inspection/scorecards.html", person, table=view))


@router.get("/inspection/scorecards/{cycle_id}")
async def scorecard_page(request: Request, person: Assessor, cycle_id: str) -> Response:
    cycle = await person.services.get("inspection", f"/v1/cycles/{segment(cycle_id)}")
    names = {u["id"]: u["name"] for u in await units(person)}
    columns = score_columns(names)
    try:
        card = await person.services.get("inspection", f"/v1/cycles/{segment(cycle_id)}/scorecard")
    except ServiceRefused as refusal:
        if refusal.status != 409:
            raise
        return render(request, "inspection/scorecard.html", person, cycle=cycle, card=None, columns=columns,
                      chart=None, pending=refusal.detail)
    unit_rows, bundle_rows = card.get("units") or [], card.get("bundles") or []
    if request.query_params.get("format") == "csv":
        rows = [*unit_rows, *bundle_rows]
        return csv_response(columns, rows, f"scorecard-{cycle.get('id', 'cycle')}", lang(request))
    chart = {"title": f"{cycle.get('name', '')} · " + ("On-time rate" if lang(request) == "en" else "按期整改率"),
             "labels": [names.get(r["subject"], r["subject"]) for r in unit_rows],
             "values": [round(float(r.get("on_time_rate") or 0) * 100, 1) for r in unit_rows]}
    return render(request, "inspection/scorecard.html", person, cycle=cycle, card=card, columns=columns,
                  units_rows=unit_rows, bundle_rows=bundle_rows, chart=chart, pending=None)
