"""What patrols found and how well they kept their plans: compliance per team and per township over a period,
the anti-fraud flags (suspicious scans), and hazards reported on patrol. Read-only; organisers, admins and
supervisors (patrol shows a scoped supervisor its own township only, and refuses another by its field)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.patrol.common import SERVICE, Overseer, now_of, zone_of
from console.pages.patrol.rules import FLAG_LABELS, instant, percent, tonight
from console.web.i18n import pick
from console.web.pages import render
from console.web.tables import Column, Filter, Table, TableView

router = APIRouter(include_in_schema=False)

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
HAZARD_LABELS: dict[str, tuple[str, str]] = {
    "fire": ("消防安全", "fire"), "gas": ("燃气安全", "gas"), "roads": ("道路交通", "roads"),
    "construction": ("建筑工地", "construction"), "campus": ("校园安全", "campus"),
    "enterprise": ("企业安全生产", "enterprise safety"), "public-order": ("社会治安", "public order"),
    "other": ("其他", "other"),
}
_FIGURES = [
    Column("rounds", "轮次", "Rounds"),
    Column("rounds_completed", "完成轮次", "Completed"),
    Column("rounds_late_or_not_started", "迟到或未巡", "Late or not started"),
    Column("expected_checkpoints", "应巡点位", "Expected"),
    Column("scanned_checkpoints", "已巡点位", "Scanned"),
    Column("compliance", "合规率", "Compliance", text=lambda row, lang: percent(row.get("compliance"))),
]
TEAMS = Table(
    columns=[Column("team_id", "巡逻队", "Team"),
             Column("area_name", "地点", "Area", text=lambda row, lang: row.get("area_name") or row.get("area") or ""),
             *_FIGURES],
    filters=[Filter("since", "起始日期", "From", max_length=10),
             Filter("until", "截止日期（不含）", "Until", max_length=10),
             Filter("team_id", "巡逻队", "Team", max_length=64), Filter("area", "地点", "Area", max_length=200)],
    page_size=500, csv_name="patrol-compliance",
)
TOWNSHIPS = Table(columns=[Column("name", "镇街", "Township"), *_FIGURES], filters=TEAMS.filters, page_size=500,
                  csv_name="patrol-compliance-townships")


def _local(value: Any, request: Request) -> str:
    moment = instant(value)
    return f"{moment.astimezone(zone_of(request)):%Y-%m-%d %H:%M}" if moment else ""


def _period(request: Request, params: dict[str, str]) -> tuple[datetime, datetime]:
    """[since, until) as local midnights: the dates asked, else the last seven nights up to tonight."""
    zone = zone_of(request)
    last = tonight(now_of(request), zone)
    since = _day(params.get("since", "")) or last - timedelta(6)
    until = _day(params.get("until", "")) or last + timedelta(1)
    return datetime.combine(since, time(12), zone), datetime.combine(until, time(12), zone)


def _day(text: str) -> date | None:
    """A date as typed (YYYY-MM-DD, one that exists), else None: the default applies."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return None


@router.get("/patrol/compliance")
async def compliance(request: Request, person: Overseer) -> Response:
    answers: dict[str, Any] = {}

    async def ask(params: dict[str, str]) -> dict[str, Any]:
        if "answer" not in answers:
            since, until = _period(request, params)
            answers["answer"] = await person.services.get(SERVICE, "/v1/compliance", params={
                "since": since.isoformat(), "until": until.isoformat(),
                **{k: params[k] for k in ("team_id", "area") if params.get(k)}})
        answer: dict[str, Any] = answers["answer"]
        return answer

    async def teams(params: dict[str, str]) -> dict[str, Any]:
        return {"items": (await ask(params))["teams"], "next_after": None}

    async def townships(params: dict[str, str]) -> dict[str, Any]:
        return {"items": (await ask(params))["townships"], "next_after": None}

    if request.query_params.get("of") == "townships":
        return await TOWNSHIPS.respond(request, townships, lambda view: Response())
    views: dict[str, TableView] = {}

    def keep(view: TableView) -> Response:
        views["teams"] = view
        return Response()

    answer = await TEAMS.respond(request, teams, keep)
    if "teams" not in views:  # the CSV
        return answer
    view = views["teams"]
    since, until = _period(request, dict(view.filters))
    # 12:00 local bounds name nights: the period shown is its first night to its last one
    return render(request, "patrol/compliance.html", person, table=view, townships=(await ask(dict(view.filters)))
                  ["townships"], township_columns=TOWNSHIPS.columns, since=since.date().isoformat(),
                  until=until.date().isoformat(), township_csv=view.csv_url + "&of=townships")


FLAGS = Table(
    columns=[
        Column("scanned_at", "扫码时间", "Scanned", text=lambda row, lang: row["scanned_local"]),
        Column("team_id", "巡逻队", "Team"),
        Column("member_id", "队员", "Member"),
        Column("checkpoint_id", "点位", "Checkpoint"),
        Column("kind", "类型", "Kind", text=lambda row, lang: pick(lang, *FLAG_LABELS.get(row["kind"],
                                                                                       (row["kind"], row["kind"])))),
        Column("summary", "说明", "Summary"),
        Column("scan_id", "扫码编号", "Scan ID"),
    ],
    filters=[Filter("team_id", "巡逻队", "Team", max_length=64), Filter("member_id", "队员", "Member", max_length=64),
             Filter("kind", "类型", "Kind", choices=[(k, *v) for k, v in FLAG_LABELS.items()]),
             Filter("area", "地点", "Area", max_length=200)],
    csv_name="patrol-flags",
)


@router.get("/patrol/flags")
async def flags(request: Request, person: Overseer) -> Response:
    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        page = await person.services.get(SERVICE, "/v1/flags", params=params)
        return {"items": [{**f, "scanned_local": _local(f["scanned_at"], request)} for f in page["items"]],
                "next_after": page.get("next_after")}

    return await FLAGS.respond(request, fetch, lambda view: render(
        request, "patrol/table_page.html", person, table=view, heading="patrol.flags"))


HAZARDS = Table(
    columns=[
        Column("received_at", "上报时间", "Received", text=lambda row, lang: row["received_local"]),
        Column("team_id", "巡逻队", "Team"),
        Column("member_id", "队员", "Member"),
        Column("category", "类别", "Category", text=lambda row, lang: pick(lang, *HAZARD_LABELS.get(
            row["category"], (row["category"], row["category"])))),
        Column("description", "描述", "Description"),
        Column("place", "地点", "Place"),
        Column("photos", "照片", "Photos", text=lambda row, lang: str(len(row.get("photo_refs") or []))),
        Column("unit_id", "责任单位", "Unit"),
        Column("inspection", "督查任务", "Inspection", text=lambda row, lang: _inspection(row, lang)),
    ],
    filters=[Filter("team_id", "巡逻队", "Team", max_length=64), Filter("area", "地点", "Area", max_length=200)],
    csv_name="patrol-hazards",
)


def _inspection(row: dict[str, Any], lang: str) -> str:
    """What inspection made of the report: its task, or the problems it could not take as reported."""
    problems = row.get("inspection_problems") or []
    words = "；".join(str(p.get("reason", "")) for p in problems if isinstance(p, dict))
    task = row.get("inspection_task_id") or ""
    return "；".join(part for part in (task, words) if part)


@router.get("/patrol/hazards")
async def hazards(request: Request, person: Overseer) -> Response:
    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        page = await person.services.get(SERVICE, "/v1/hazards", params=params)
        return {"items": [{**h, "received_local": _local(h["received_at"], request)} for h in page["items"]],
                "next_after": page.get("next_after")}

    return await HAZARDS.respond(request, fetch, lambda view: render(
        request, "patrol/table_page.html", person, table=view, heading="patrol.hazards"))
