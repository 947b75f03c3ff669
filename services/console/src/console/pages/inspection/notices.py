"""通报: the circulated notices, each with its tasks and their deadlines. A unit reads its own, a scoped supervisor
its scope's, inspectors all (the service decides; another's is the same 404 as an unknown one)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.inspection.common import Reader, unit_label, units
from console.pages.inspection.labels import CATEGORIES, NOTICE_STATUSES, STATUSES, choices, named
from console.pages.inspection.tasks import with_countdown
from console.pages.inspection.uploads import segment
from console.web.pages import lang, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)


def _notices_table(names: dict[str, str]) -> Table:
    return Table(
        columns=[
            Column("number", "通报编号", "Notice", link=lambda row: f"/inspection/notices/{segment(row['id'])}"),
            Column("unit_id", "责任单位", "Unit", text=lambda row, lang: unit_label(names, row.get("unit_id"))),
            Column("cycle_id", "周期", "Cycle"),
            Column("status", "状态", "State", text=lambda row, lang: named(NOTICE_STATUSES, row.get("status"), lang)),
            Column("issued_at", "下发时间", "Issued", text=lambda row, lang: str(row.get("issued_at") or "")[:10]),
            Column("tasks", "任务数", "Tasks", text=lambda row, lang: str(len(row.get("tasks") or []))),
            Column("open_tasks", "未销号", "Not verified", text=lambda row, lang: str(sum(
                1 for t in row.get("tasks") or [] if t.get("status") not in ("verified", "merged")))),
        ],
        filters=[Filter("status", "状态", "State", choices=choices(NOTICE_STATUSES)),
                 Filter("year", "年份", "Year", max_length=4)],
        csv_name="notices",
    )


@router.get("/inspection/notices")
async def notice_list(request: Request, person: Reader) -> Response:
    names = {u["id"]: u["name"] for u in await units(person)}

    async def fetch(params: dict[str, str]) -> Any:
        if "year" in params and not params["year"].isdigit():
            params.pop("year")
        return await person.services.get("inspection", "/v1/notices", params=params)

    return await _notices_table(names).respond(
        request, fetch, lambda view: render(request, "inspection/notices.html", person, table=view))


@router.get("/inspection/notices/{notice_id}")
async def notice_page(request: Request, person: Reader, notice_id: str) -> Response:
    notice = await person.services.get("inspection", f"/v1/notices/{segment(notice_id)}")
    names = {u["id"]: u["name"] for u in await units(person)}
    language = lang(request)
    tasks = [{**with_countdown(request, t), "category_text": named(CATEGORIES, t.get("category"), language),
              "status_text": named(STATUSES, t.get("status"), language)} for t in notice.get("tasks") or []]
    return render(request, "inspection/notice.html", person, notice=notice, tasks=tasks,
                  unit=unit_label(names, notice.get("unit_id")),
                  status=named(NOTICE_STATUSES, notice.get("status"), language))
