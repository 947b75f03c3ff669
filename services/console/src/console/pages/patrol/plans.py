"""Plans: which team walks which route, in what local window, on which nights, how often. The list (filter by team
or route, page, CSV), a plan's page, a new plan, and deleting one (patrol cancels its rounds not yet started).
Plans made from roster's night-patrol shifts (``shift:…``) are shown, never deleted here: roster owns them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.patrol.common import SERVICE, Editor, ItemId, Overseer, item_path, now_of, teams, walk, zone_of
from console.pages.patrol.rules import plan_body
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import pick
from console.web.pages import Person, render
from console.web.pages import lang as language
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

FIELDS = ("id", "team_id", "route_id", "first_date", "last_date", "window_start", "window_end", "every_minutes",
          "rounds_per_night", "start_grace_minutes", "checkpoint_grace_minutes")


def _frequency(row: dict[str, Any], lang: str) -> str:
    if row.get("every_minutes"):
        return pick(lang, f"每 {row['every_minutes']} 分钟一轮", f"every {row['every_minutes']} min")
    return pick(lang, f"每晚 {row.get('rounds_per_night')} 轮", f"{row.get('rounds_per_night')} a night")


def _state(row: dict[str, Any], lang: str) -> str:
    return pick(lang, "已删除", "deleted") if row.get("cancelled_at") else pick(lang, "有效", "active")


PLANS = Table(
    columns=[
        Column("id", "编号", "ID", link=lambda row: f"/patrol/plans/{row['id']}"),
        Column("team_id", "巡逻队", "Team"),
        Column("route_id", "路线", "Route", link=lambda row: f"/patrol/routes/{row['route_id']}"),
        Column("dates", "日期", "Dates", text=lambda row, lang: row["first_date"] if row["first_date"] ==
               row["last_date"] else f"{row['first_date']} – {row['last_date']}"),
        Column("window", "时段", "Window", text=lambda row, lang: f"{row['window_start']}–{row['window_end']}"),
        Column("frequency", "频次", "Frequency", text=_frequency),
        Column("source", "来源", "Source", text=lambda row, lang: pick(lang, "排班", "roster shift")
               if row.get("shift_id") else pick(lang, "手工", "by hand")),
        Column("state", "状态", "State", text=_state),
    ],
    filters=[Filter("team_id", "巡逻队", "Team", max_length=64), Filter("route_id", "路线", "Route", max_length=100)],
    csv_name="plans",
)


def _count(text: str) -> str:
    """A count carried in a redirect's query, shown in the notice: digits only."""
    return text if text.isdigit() and len(text) < 7 else "0"


@router.get("/patrol/plans")
async def plan_list(request: Request, person: Overseer) -> Response:
    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get(SERVICE, "/v1/plans", params=params)

    done = request.query_params.get("done")
    cancelled = _count(request.query_params.get("rounds", ""))
    notice = None
    if done == "cancelled":
        notice = pick(language(request), f"计划已删除，取消了 {cancelled} 个未开始的轮次。",
                      f"Plan deleted; {cancelled} rounds not yet started were cancelled.")
    return await PLANS.respond(request, fetch, lambda view: render(
        request, "patrol/plans.html", person, table=view, notice=notice,
        may_edit=person.role.value in ("organiser", "admin")))


async def _form_page(request: Request, person: Person, form: Form, status_code: int = 200) -> Response:
    team_entries = await teams(person)
    routes = await walk(person, "/v1/routes")
    return render(request, "patrol/plan_new.html", person, status_code=status_code, form=form,
                  teams=[(e["code"], e["name"], e["name"]) for e in team_entries],
                  routes=[(r["id"], f"{r['name']}（{r['id']}）", f"{r['name']} ({r['id']})") for r in routes])


@router.get("/patrol/plans/new")
async def new_plan_form(request: Request, person: Editor) -> Response:
    today = now_of(request).astimezone(zone_of(request)).date()
    suggested = f"plan-{today:%Y%m%d}-{now_of(request):%H%M%S}"
    values = {"id": suggested, "first_date": today.isoformat(), "last_date": (today + timedelta(days=6)).isoformat(),
              "window_start": "20:00", "window_end": "02:00", "every_minutes": "120", "start_grace_minutes": "15",
              "checkpoint_grace_minutes": "10"}
    return await _form_page(request, person, Form(fields=FIELDS, values=values))


@router.post("/patrol/plans/new")
async def create_plan(request: Request, person: Editor) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    try:
        saved = await person.services.post(SERVICE, "/v1/plans", json=plan_body(form.values))
    except ServiceRefused as refusal:
        return await _form_page(request, person, form.refused(refusal), status_code=refusal.status)
    return RedirectResponse(f"/patrol/plans/{saved['id']}?done={saved.get('outcome', 'created')}"
                            f"&rounds={saved.get('rounds_added', 0)}", status_code=303)


@router.get("/patrol/plans/{plan_id}")
async def plan_page(request: Request, person: Overseer, plan_id: ItemId) -> Response:
    plan = await person.services.get(SERVICE, item_path("plans", plan_id))
    done = request.query_params.get("done")
    rounds_added = _count(request.query_params.get("rounds", ""))
    notice = None
    if done in ("created", "updated"):
        notice = pick(language(request), f"计划已创建，已生成 {rounds_added} 个轮次。",
                      f"Plan created; {rounds_added} rounds made.")
    elif done == "unchanged":
        notice = pick(language(request), "同一计划已存在，未作改动。", "The same plan exists already: nothing changed.")
    return render(request, "patrol/plan.html", person, plan=plan, notice=notice,
                  frequency=_frequency(plan, language(request)),
                  may_cancel=person.role.value in ("organiser", "admin") and not plan.get("shift_id")
                  and not plan.get("cancelled_at"))


@router.post("/patrol/plans/{plan_id}/delete")
async def delete_plan(request: Request, person: Editor, plan_id: ItemId) -> Response:
    plan = await person.services.get(SERVICE, item_path("plans", plan_id))
    if plan.get("shift_id"):  # roster's: deleting it here would be undone by the shift's next change
        return RedirectResponse(f"/patrol/plans/{plan_id}", status_code=303)
    cancelled = await person.services.delete(SERVICE, item_path("plans", plan_id))
    return RedirectResponse(f"/patrol/plans?done=cancelled&rounds={cancelled.get('cancelled_rounds', 0)}",
                            status_code=303)
