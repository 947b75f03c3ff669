"""Attendance and fairness: roster's report (``GET /v1/reports/attendance``) over a period or a year, per member,
team or organisation — duties, nights, attended, no-shows (resolved or not), pending, the year's cumulative nights
and, per team or organisation, the spread between its most and least loaded person — as a table (filters, pages,
CSV), a bar chart of the page's rows and the figures per township.

The chart is drawn by static/charts.js from the option in a ``<script type="application/json">`` block the page
carries (data, never code: the content security policy runs no inline script).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.roster.common import SERVICE, Organiser, every
from console.services import ServiceRefused
from console.web.i18n import messages, pick
from console.web.pages import lang, render
from console.web.tables import Column, Filter, Table, TableView

router = APIRouter(include_in_schema=False)

messages({
    "roster.reports.title": ("出勤与公平", "Attendance and fairness"),
    "roster.reports.summary": ("总体", "Overall"),
    "roster.reports.people": ("人数", "People"),
    "roster.reports.spread_nights": ("夜班次数差距（最多−最少）", "Nights: most minus least"),
    "roster.reports.spread_year_nights": ("全年夜班差距", "Nights this year: most minus least"),
    "roster.reports.townships": ("各镇街", "Per township"),
    "roster.reports.chart": ("图表", "Chart"),
    "roster.reports.scope_year": ("全年", "the year"),
})

GROUPS = [("team", "按巡逻队", "by team"), ("organisation", "按组织", "by organisation"),
          ("member", "按队员", "by member")]
# The figures each row has, in the order the table and the chart show them.
FIGURES: Sequence[tuple[str, str, str]] = (
    ("duties", "班次", "Duties"), ("nights", "夜班", "Nights"), ("attended", "到岗", "Attended"),
    ("no_shows", "缺勤", "No-shows"), ("resolved", "缺勤后补到", "Resolved"), ("pending", "待核", "Pending"),
    ("year_nights", "全年夜班", "Nights this year"),
)
CHARTED = ("duties", "nights", "attended", "no_shows")


def _spread(key: str) -> Any:
    return lambda row, lang: str((row.get(key) or {}).get("spread", ""))


def _columns(group_by: str) -> list[Column]:
    figures = [Column(key, zh, en) for key, zh, en in FIGURES]
    if group_by == "member":
        return [Column("member_id", "队员编号", "Member id"), Column("name", "姓名", "Name"),
                Column("org_id", "组织", "Organisation"), Column("team_id", "巡逻队", "Team"), *figures]
    key = "team_id" if group_by == "team" else "org_id"
    return [Column(key, *(("巡逻队", "Team") if group_by == "team" else ("组织", "Organisation"))),
            Column("people", "人数", "People"), *figures,
            Column("nights_per_person", "夜班差距", "Nights spread", text=_spread("nights_per_person")),
            Column("year_nights_per_person", "全年夜班差距", "Year nights spread",
                   text=_spread("year_nights_per_person"))]


REPORT = Table(
    columns=_columns("team"),
    filters=[Filter("period_id", "期次", "Period", max_length=100), Filter("year", "年份", "Year", max_length=4),
             Filter("group_by", "分组", "Group", choices=GROUPS), Filter("org_id", "组织", "Organisation",
                                                                         max_length=100),
             Filter("team_id", "巡逻队", "Team", max_length=64)],
    csv_name="attendance",
)


def chart_option(rows: Sequence[Mapping[str, Any]], group_by: str, language: str) -> dict[str, Any]:
    """An ECharts bar chart of the rows: one group of bars per row (member, team or organisation), one bar per
    figure."""
    key = {"member": "name", "team": "team_id"}.get(group_by, "org_id")
    names = [str(row.get(key) or row.get("member_id") or "") for row in rows]
    labels = {k: pick(language, zh, en) for k, zh, en in FIGURES}
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [labels[k] for k in CHARTED]},
        "grid": {"left": 40, "right": 20, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 30 if len(names) > 6
                                                                   else 0}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"name": labels[k], "type": "bar", "barMaxWidth": 40,
                    "data": [int(row.get(k) or 0) for row in rows]}
                   for k in CHARTED],
    }


@router.get("/roster/reports")
async def attendance(request: Request, person: Organiser) -> Response:
    periods = await every(person, "/v1/periods", limit=500)
    years = sorted({p["starts_on"][:4] for p in periods}, reverse=True)
    table = dataclasses.replace(REPORT, filters=[
        Filter("period_id", "期次", "Period", choices=[(p["period_id"], p["name"], p["name"]) for p in periods]),
        Filter("year", "年份", "Year", choices=[(y, y, y) for y in years]), *REPORT.filters[2:]])
    group_by = table.filters_of(request).get("group_by", "team")
    table = dataclasses.replace(table, columns=_columns(group_by), extra={"group_by": group_by})
    report: dict[str, Any] = {}

    async def fetch(params: dict[str, str]) -> Any:
        answer = await person.services.get(SERVICE, "/v1/reports/attendance", params=params)
        report.setdefault("first", answer)  # the summary and townships are the same on every page
        return answer

    def page(view: TableView, refusal: ServiceRefused | None = None) -> Response:
        first = report.get("first") or {}
        return render(request, "roster/reports.html", person, table=view, summary=first.get("summary"),
                      report_scope=first.get("scope") or {}, townships=first.get("townships") or [],
                      chart=chart_option(view.rows, group_by, view.lang) if view.rows else None,
                      figures=FIGURES, refusal=refusal, status_code=refusal.status if refusal else 200)

    try:
        return await table.respond(request, fetch, page)
    except ServiceRefused as refusal:  # a filter roster refuses (a period of another year): said above the table
        empty = TableView(table, [], table.filters_of(request), None, None, request.url.path, lang(request))
        return page(empty, refusal)
