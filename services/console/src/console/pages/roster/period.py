"""One period's page: its dates and rules, its cohort (期学员: tick the members), its duties (add one: kind, place,
times, weekdays, crew size and make-up), and starting a solve. Each form keeps what was typed when roster refuses
it, with each reason by the field roster names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.roster.common import DUTY_KINDS, SERVICE, WEEKDAYS, Organiser, RosterId, choices, every, seg
from console.pages.roster.periods import number
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import render

router = APIRouter(include_in_schema=False)

messages({
    "roster.period.created": ("期次已创建。请选定学员并添加勤务。",
                              "Period created. Choose its cohort and add duties."),
    "roster.period.cohort": ("学员名单", "Cohort"),
    "roster.period.cohort_hint": ("勾选参加本期轮值的队员；下次求解只排这些人。",
                                  "Tick the members who serve in this period; the next solve rosters exactly them."),
    "roster.period.cohort_saved": ("学员名单已保存。", "Cohort saved."),
    "roster.period.cohort_count": ("已选", "chosen"),
    "roster.period.save_cohort": ("保存学员名单", "Save the cohort"),
    "roster.period.duties": ("勤务", "Duties"),
    "roster.period.add_duty": ("添加勤务", "Add a duty"),
    "roster.period.duty_added": ("勤务已添加，班次已生成。", "Duty added; its shifts are made."),
    "roster.period.solve": ("求解排班", "Solve the roster"),
    "roster.period.solve_hint": ("求解在后台进行，页面会显示进度。", "The solve runs in the background; its page shows "
                                 "the progress."),
    "roster.period.time_limit": ("求解时限（秒）", "Time limit (seconds)"),
    "roster.period.replan": ("在已发布排班基础上少量调整", "Change the published roster as little as possible"),
    "roster.period.start_solve": ("开始求解", "Start solving"),
    "roster.period.published": ("已发布排班", "Published roster"),
    "roster.period.version": ("版本", "version"),
    "roster.period.not_planned": ("巡逻服务未能安排的班次", "Shifts patrol could not plan"),
    "roster.duty.id": ("勤务编号", "Duty id"),
    "roster.duty.kind": ("类型", "Kind"),
    "roster.duty.title": ("勤务名称", "Duty"),
    "roster.duty.area": ("地点", "Place"),
    "roster.duty.area_hint": ("目录中的地点代码或名称，如 塘下镇。", "A place of the directory, by code or name."),
    "roster.duty.route": ("巡逻路线", "Route"),
    "roster.duty.team": ("巡逻队", "Team"),
    "roster.duty.start": ("开始时间", "Starts"),
    "roster.duty.end": ("结束时间", "Ends"),
    "roster.duty.end_hint": ("不晚于开始时间即为次日结束。", "Not after the start: it ends the next day."),
    "roster.duty.time": ("时间", "Time"),
    "roster.duty.weekdays": ("每周哪几天", "Weekdays"),
    "roster.duty.size": ("每班人数", "Crew size"),
    "roster.duty.min_police": ("至少民警人数", "Police officers, at least"),
    "roster.duty.min_civilians": ("至少非民警人数", "Civilians, at least"),
    "roster.duty.max_share": ("同一组织最多占比（如 0.5）", "Most share from one organisation (e.g. 0.5)"),
    "roster.duty.skills": ("所需技能", "Skills needed"),
})

DUTY_FIELDS = ("duty_id", "kind", "title", "area", "route_id", "team_id", "start_time", "end_time", "weekdays",
               "required_size", "min_police", "min_civilians", "max_share_per_org", "required_skills")
# Where roster names a duty's composition, the form has a box of its own.
DUTY_ERRORS = {"body.composition.min_by_role.": "min_police", "body.composition.min_civilians": "min_civilians",
               "body.composition.max_share_per_org": "max_share_per_org", "body.composition": "min_police"}
SOLVE_FIELDS = ("time_limit_s", "replan", "solve")  # "solve": what roster says of the solve itself
NOTICES = {"created": "roster.period.created", "cohort": "roster.period.cohort_saved",
           "duty": "roster.period.duty_added"}


async def _page(request: Request, person: Organiser, period_id: str, *, cohort: Form | None = None,
                duty: Form | None = None, solve: Form | None = None, status_code: int = 200) -> Response:
    period = await person.services.get(SERVICE, f"/v1/periods/{seg(period_id)}")
    members = await every(person, "/v1/members", {"active": "true"})
    known = {m["member_id"] for m in members}
    # a cohort member since made inactive is still listed (ticked), so saving the form does not drop them unseen
    members += [{"member_id": m, "name": m, "org_id": ""} for m in period["cohort"] if m not in known]
    members.sort(key=lambda m: (m.get("org_id") or "", m["member_id"]))
    chosen = set(cohort.value("member_ids").split()) if cohort else set(period["cohort"])
    return render(request, "roster/period.html", person, status_code=status_code, period=period, members=members,
                  chosen=chosen, cohort=cohort or Form(fields=("member_ids",)),
                  duty=duty or Form(fields=DUTY_FIELDS, values={"kind": "road-patrol", "weekdays": "1 2 3 4 5 6 7",
                                                               "required_size": "2"}),
                  solve=solve or Form(fields=SOLVE_FIELDS, values={"time_limit_s": "20"}),
                  kinds=choices(DUTY_KINDS), weekdays=WEEKDAYS,
                  notice=NOTICES.get(request.query_params.get("done", "")))


@router.get("/roster/periods/{period_id}")
async def period_page(request: Request, person: Organiser, period_id: RosterId) -> Response:
    return await _page(request, person, period_id)


@router.post("/roster/periods/{period_id}/cohort")
async def save_cohort(request: Request, person: Organiser, period_id: RosterId) -> Response:
    submitted = await request.form()
    ids = [v for v in submitted.getlist("member_ids") if isinstance(v, str) and v]
    form = Form(fields=("member_ids",), values={"member_ids": " ".join(ids)})
    try:
        await person.services.put(SERVICE, f"/v1/periods/{seg(period_id)}/cohort", json={"member_ids": ids})
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, period_id, cohort=form.refused(refusal), status_code=refusal.status)
    return RedirectResponse(f"/roster/periods/{seg(period_id)}?done=cohort#cohort", status_code=303)


def duty_body(form: Form) -> dict[str, Any]:
    """The duty as roster takes it; what is left empty is left out (roster's defaults), the rest goes as typed for
    roster to judge."""
    text = {name: form.value(name).strip() for name in DUTY_FIELDS}
    body: dict[str, Any] = {"duty_id": text["duty_id"], "kind": text["kind"], "title": text["title"],
                            "start_time": text["start_time"], "end_time": text["end_time"],
                            "required_size": number(text["required_size"]),
                            "weekdays": [number(day) for day in text["weekdays"].split()]}
    for name in ("area", "route_id", "team_id"):
        if text[name]:
            body[name] = text[name]
    composition: dict[str, Any] = {}
    if text["min_police"]:
        composition["min_by_role"] = {"police": number(text["min_police"])}
    if text["min_civilians"]:
        composition["min_civilians"] = number(text["min_civilians"])
    if text["max_share_per_org"]:
        composition["max_share_per_org"] = number(text["max_share_per_org"])
    if composition:
        body["composition"] = composition
    skills = [s.strip() for s in text["required_skills"].replace("；", ";").split(";") if s.strip()]
    if skills:
        body["required_skills"] = skills
    return body


@router.post("/roster/periods/{period_id}/duties")
async def add_duty(request: Request, person: Organiser, period_id: RosterId) -> Response:
    submitted = await request.form()
    form = Form.from_request_values(submitted, DUTY_FIELDS)
    form.values["weekdays"] = " ".join(v for v in submitted.getlist("weekdays") if isinstance(v, str))
    try:
        await person.services.post(SERVICE, f"/v1/periods/{seg(period_id)}/duties", json=duty_body(form))
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, period_id, duty=form.refused(refusal, DUTY_ERRORS),
                           status_code=refusal.status)
    return RedirectResponse(f"/roster/periods/{seg(period_id)}?done=duty#duties", status_code=303)


@router.post("/roster/periods/{period_id}/solve")
async def start_solve(request: Request, person: Organiser, period_id: RosterId) -> Response:
    form = Form.from_request_values(await request.form(), SOLVE_FIELDS)
    body: dict[str, Any] = {}
    if form.value("time_limit_s").strip():
        body["time_limit_s"] = number(form.value("time_limit_s"))
    if form.value("replan"):
        body["replan"] = form.value("replan") == "1"
    try:
        job = await person.services.post(SERVICE, f"/v1/periods/{seg(period_id)}/solve", json=body)
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, period_id, solve=form.refused(refusal, {"period_id": "solve"}),
                           status_code=refusal.status)
    return RedirectResponse(f"/roster/jobs/{seg(job['job_id'])}", status_code=303)
