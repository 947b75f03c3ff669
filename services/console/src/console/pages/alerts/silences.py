"""Silences (静默期, e.g. a typhoon day for one township): while one is active the alerts it matches still climb,
but their notifications are held until it ends. Listed (current ones, or all), created with a reason and an end,
ended early. A scoped supervisor sees and makes only silences within its scope (alerts refuses the rest with 403
naming the field, shown by it); the form starts with the supervisor's own place."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import (
    MANAGERS,
    SERVICE,
    Manager,
    ObjectId,
    with_local_times,
    zone_of,
)
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages, pick, translate
from console.web.menu import MenuItem
from console.web.pages import Person, console, lang, render
from console.web.tables import Column, Filter, Table, TableView

router = APIRouter(include_in_schema=False)

MENU = [MenuItem("/alerts/silences", "静默期", "Silences", section="alerts", roles=MANAGERS, order=30,
                 summary=("维护窗口：暂扣匹配预警的通知", "Maintenance windows: hold matching alerts' notifications"))]

messages({
    "silences.title": ("静默期", "Silences"),
    "silences.new": ("新建静默期", "New silence"),
    "silences.reason": ("原因", "Reason"),
    "silences.reason_hint": ("如：台风“海葵”过境，暂停督办通知", "e.g. typhoon day: escalation notices paused"),
    "silences.place": ("地点（代码或名称）", "Place (code or name)"),
    "silences.place_hint": ("该地点及其下级的全部预警；留空为不限。",
                            "Every alert in it or beneath it; empty: anywhere."),
    "silences.kind": ("预警类型", "Alert kind"),
    "silences.unit_id": ("责任单位", "Unit"),
    "silences.area": ("区域", "Area"),
    "silences.any_hint": ("留空为不限。", "Empty: any."),
    "silences.starts_at": ("开始", "Starts"),
    "silences.ends_at": ("结束", "Ends"),
    "silences.create": ("创建静默期", "Create the silence"),
    "silences.created": ("静默期已创建。", "Silence created."),
    "silences.end": ("立即结束", "End now"),
    "silences.end_confirm": ("结束后，仍未关闭的预警将立即补发通知。确定吗？",
                             "Once it ends, what it held and is still open is notified at once. End it?"),
    "silences.ended": ("静默期已结束，暂扣的通知已补发。", "Silence ended; what it held has been notified."),
    "silences.bad_time": ("请填写日期和时间，如 2026-03-02 18:00", "A date and time, e.g. 2026-03-02 18:00"),
})

FIELDS = ("reason", "place", "kind", "unit_id", "area", "starts_at", "ends_at")
NOTICES = {"created": "silences.created", "ended": "silences.ended"}


def _matchers(row: dict[str, Any], lang: str) -> str:
    parts = [row.get("place"), row.get("kind"), row.get("unit_id"), row.get("area")]
    return " · ".join(str(p) for p in parts if p) or pick(lang, "全部预警", "every alert")


def _in_force(row: dict[str, Any]) -> bool:
    return not row.get("ended_early_at") and not row.get("released_at")


def _state(row: dict[str, Any], lang: str) -> str:
    if row.get("ended_early_at"):
        return pick(lang, "已提前结束", "ended early")
    if row.get("released_at"):
        return pick(lang, "已结束", "over")
    return pick(lang, "有效", "in force")


SILENCES = Table(
    columns=[
        Column("reason", "原因", "Reason"),
        Column("matchers", "范围", "Matches", text=_matchers),
        Column("starts_at_local", "开始", "Starts"),
        Column("ends_at_local", "结束", "Ends"),
        Column("created_by", "创建人", "By"),
        Column("state", "状态", "State", text=_state),
    ],
    filters=[Filter("current", "范围", "Which", choices=[("true", "当前及未来", "current and future"),
                                                         ("false", "全部（含已结束）", "all, ended too")])],
    csv_name="silences",
)


def _form_defaults(request: Request, person: Person) -> Form:
    zone = zone_of(request)
    now = console(request).runtime.clock.now().astimezone(zone).replace(second=0, microsecond=0)
    return Form(fields=FIELDS, values={"place": person.account.scope.scope or "",
                                       "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
                                       "ends_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})


async def _page(request: Request, person: Person, form: Form | None = None, status_code: int = 200) -> Response:
    zone = zone_of(request)

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        found = await person.services.get(SERVICE, "/v1/silences", params={"current": params.get("current", "true")})
        return {"items": with_local_times(found, zone, "starts_at", "ends_at"), "next_after": None}

    def page(view: TableView) -> Response:
        return render(request, "alerts/silences.html", person, status_code=status_code, table=view,
                      form=form or _form_defaults(request, person), in_force=_in_force,
                      notice=NOTICES.get(request.query_params.get("done", "")))

    return await SILENCES.respond(request, fetch, page)


@router.get("/alerts/silences")
async def silences(request: Request, person: Manager) -> Response:
    return await _page(request, person)


def _instant(text: str, zone: ZoneInfo) -> str | None:
    """A ``datetime-local`` value (the person's local time) as ISO 8601 with its offset; None when unreadable."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()


@router.post("/alerts/silences")
async def create_silence(request: Request, person: Manager) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    zone = zone_of(request)
    body: dict[str, Any] = {name: form.value(name).strip() for name in ("reason", "place", "kind", "unit_id", "area")
                            if form.value(name).strip()}
    body.setdefault("reason", "")
    for name in ("starts_at", "ends_at"):
        moment = _instant(form.value(name), zone)
        if moment is None:
            form.error(name, translate(lang(request), "silences.bad_time"))
        body[name] = moment
    if form.failed:
        return await _page(request, person, form, status_code=422)
    try:
        await person.services.post(SERVICE, "/v1/silences", json=body)
    except ServiceRefused as refusal:
        return await _page(request, person, form.refused(refusal), status_code=refusal.status)
    return RedirectResponse("/alerts/silences?done=created", status_code=303)


@router.post("/alerts/silences/{silence_id}/end")
async def end_silence(person: Manager, silence_id: ObjectId) -> Response:
    await person.services.delete(SERVICE, f"/v1/silences/{silence_id}")
    return RedirectResponse("/alerts/silences?done=ended", status_code=303)
