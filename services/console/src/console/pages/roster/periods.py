"""Programmes and their periods (期): the list (filter by programme, pages, CSV), a new programme, a new period with
its main rules. A period's own page (cohort, duties, solving) is ``period.py``."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.roster.common import LEVELS, SERVICE, Organiser, choices, every, labelled, seg
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

messages({
    "roster.periods.title": ("轮值期次", "Rotation periods"),
    "roster.periods.new": ("新建期次", "New period"),
    "roster.periods.id": ("期次编号", "Period id"),
    "roster.periods.name": ("名称", "Name"),
    "roster.periods.starts_on": ("开始日期", "First day"),
    "roster.periods.days": ("天数", "Days"),
    "roster.periods.rules": ("排班规则", "Rules"),
    "roster.periods.rules_hint": ("留空使用默认值。", "Leave empty for the default."),
    "roster.rule.min_rest_hours": ("两班之间最少休息（小时）", "Least rest between duties (hours)"),
    "roster.rule.max_consecutive_nights": ("最多连续夜班", "Most nights in a row"),
    "roster.rule.max_night_spread": ("夜班次数最大差距", "Most difference in nights"),
    "roster.rule.max_duties_per_week": ("每周最多班次", "Most duties a week"),
    "roster.rule.max_duties_per_period": ("本期最多班次", "Most duties in the period"),
    "roster.rule.min_days_off_in_row": ("最少连休天数", "Fewest days off in a row"),
    "roster.rule.fairness_weight": ("公平权重", "Fairness weight"),
    "roster.rule.stability_weight": ("稳定权重", "Stability weight"),
    "roster.programmes.title": ("轮值项目", "Programmes"),
    "roster.programmes.new": ("新建项目", "New programme"),
    "roster.programmes.id": ("项目编号", "Programme id"),
    "roster.programmes.name": ("项目名称", "Programme name"),
    "roster.programmes.level": ("层级", "Level"),
    "roster.programmes.area": ("地区", "Area"),
    "roster.programmes.created": ("项目已创建。", "Programme created."),
})

PROGRAMME_FIELDS = ("programme_id", "name", "level", "area")
RULES = ("min_rest_hours", "max_consecutive_nights", "max_night_spread", "max_duties_per_week")
PERIOD_FIELDS = ("programme_id", "period_id", "name", "starts_on", "days", *RULES)

PERIODS = Table(
    columns=[
        Column("period_id", "期次编号", "Period", link=lambda row: f"/roster/periods/{seg(row['period_id'])}"),
        Column("name", "名称", "Name"),
        Column("programme_id", "项目", "Programme"),
        Column("starts_on", "开始", "From"),
        Column("ends_on", "结束", "To"),
        Column("published_version", "已发布版本", "Published version",
               text=lambda row, lang: str(row.get("published_version") or "—")),
    ],
    filters=[Filter("programme_id", "项目", "Programme", max_length=64)],
    csv_name="periods",
)


@router.get("/roster/periods")
async def period_list(request: Request, person: Organiser) -> Response:
    programmes = await every(person, "/v1/programmes", limit=500)
    table = dataclasses.replace(PERIODS, filters=[Filter("programme_id", "项目", "Programme", choices=[
        (p["programme_id"], p["name"], p["name"]) for p in programmes])]) if programmes else PERIODS

    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get(SERVICE, "/v1/periods", params=params)

    notice = "roster.programmes.created" if request.query_params.get("done") == "programme" else None
    return await table.respond(request, fetch, lambda view: render(
        request, "roster/periods.html", person, table=view, programmes=programmes, notice=notice,
        level_text=lambda value: labelled(LEVELS, value, view.lang)))


def _programme_page(request: Request, person: Organiser, form: Form, status_code: int = 200) -> Response:
    return render(request, "roster/programme_new.html", person, form=form, levels=choices(LEVELS),
                  status_code=status_code)


@router.get("/roster/programmes/new")
async def new_programme(request: Request, person: Organiser) -> Response:
    return _programme_page(request, person, Form(fields=PROGRAMME_FIELDS, values={"level": "township"}))


@router.post("/roster/programmes/new")
async def create_programme(request: Request, person: Organiser) -> Response:
    form = Form.from_request_values(await request.form(), PROGRAMME_FIELDS)
    body = {name: form.value(name).strip() for name in PROGRAMME_FIELDS if form.value(name).strip()}
    try:
        await person.services.post(SERVICE, "/v1/programmes", json=body)
    except ServiceRefused as refusal:
        return _programme_page(request, person, form.refused(refusal), status_code=refusal.status)
    return RedirectResponse("/roster/periods?done=programme", status_code=303)


async def _period_form(request: Request, person: Organiser, form: Form, status_code: int = 200) -> Response:
    programmes = await every(person, "/v1/programmes", limit=500)
    return render(request, "roster/period_new.html", person, form=form, rules=RULES, status_code=status_code,
                  programmes=[(p["programme_id"], p["name"], p["name"]) for p in programmes])


@router.get("/roster/periods/new")
async def new_period(request: Request, person: Organiser) -> Response:
    chosen = request.query_params.get("programme_id", "")
    return await _period_form(request, person, Form(fields=PERIOD_FIELDS, values={"programme_id": chosen}))


def number(text: str) -> int | float | str:
    """A number as typed, for the service to judge: digits become a number, anything else goes as it is (and is
    refused by the service, naming the field)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def period_body(form: Form) -> dict[str, Any]:
    body: dict[str, Any] = {"period_id": form.value("period_id").strip(), "name": form.value("name").strip(),
                            "starts_on": form.value("starts_on").strip(), "days": number(form.value("days"))}
    rules = {name: number(form.value(name)) for name in RULES if form.value(name).strip()}
    if rules:
        body["rules"] = rules
    return body


@router.post("/roster/periods/new")
async def create_period(request: Request, person: Organiser) -> Response:
    form = Form.from_request_values(await request.form(), PERIOD_FIELDS)
    programme = form.value("programme_id").strip()
    if not programme:
        form.error("programme_id", "请选择轮值项目 (choose a programme)")
        return await _period_form(request, person, form, status_code=422)
    body = period_body(form)
    try:
        await person.services.post(SERVICE, f"/v1/programmes/{seg(programme)}/periods", json=body)
    except ServiceRefused as refusal:
        mapped = form.refused(refusal, {f"body.rules.{name}": name for name in RULES}
                              | {"path.programme_id": "programme_id", "programme_id": "programme_id"})
        return await _period_form(request, person, mapped, status_code=refusal.status)
    return RedirectResponse(f"/roster/periods/{seg(body['period_id'])}?done=created", status_code=303)
