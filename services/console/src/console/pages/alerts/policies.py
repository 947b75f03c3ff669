"""Escalation policies, the admins' (the alerts service allows no other role): the stored ones listed, viewed and
edited, new ones made (from scratch or from a built-in ladder), deleted; and the built-in ladders, which apply when
no stored policy matches. An edit applies to alerts raised after it: each alert keeps the copy frozen onto it.

Every refusal of the service (a target nobody is reachable at on its step's channels, a multi-ack step without its
reminder interval, a policy for a kind and scope that exists already) is shown by the field it names.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import ADMINS, CHANNEL_LABELS, SERVICE, Admin, ObjectId, duration, label_of
from console.pages.alerts.policy_form import CHANNELS, body_from_form, fields, form_from_policy, rows_of
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.menu import MenuItem
from console.web.pages import Person, lang, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

MENU = [MenuItem("/alerts/policies", "升级策略", "Escalation policies", section="alerts", roles=ADMINS, order=40,
                 summary=("各类预警的升级阶梯：通报、挂牌督办、约谈、问责",
                          "Each kind's ladder: notice to accountability"))]

messages({
    "policies.title": ("升级策略", "Escalation policies"),
    "policies.new": ("新建策略", "New policy"),
    "policies.edit": ("修改策略", "Edit policy"),
    "policies.builtin": ("内置阶梯", "Built-in ladders"),
    "policies.builtin_hint": ("没有匹配的策略时使用。可复制后按辖区修改。",
                              "Used when no stored policy matches; copy one to change it for a scope."),
    "policies.copy": ("复制为新策略", "Copy into a new policy"),
    "policies.name": ("名称", "Name"),
    "policies.kind": ("预警类型", "Alert kind"),
    "policies.kind_hint": ("如 inspection.task-overdue", "e.g. inspection.task-overdue"),
    "policies.scope_unit": ("适用单位", "For unit"),
    "policies.scope_area": ("适用区域", "For area"),
    "policies.scope_hint": ("都留空：该类型的全部预警。", "Both empty: every alert of the kind."),
    "policies.repeat": ("重复次数", "Repeats"),
    "policies.repeat_hint": ("走完阶梯后从头再来的次数（0-100），或 forever。",
                             "Extra climbs after the first (0-100), or forever."),
    "policies.steps": ("步骤", "Steps"),
    "policies.step": ("第 {n} 步", "Step {n}"),
    "policies.step_hint": ("留空的步骤不保存。", "Empty steps are not saved."),
    "policies.label": ("名称", "Label"),
    "policies.label_hint": ("如 通报、挂牌督办、约谈、问责", "e.g. 通报, 挂牌督办, 约谈, 问责"),
    "policies.delay": ("距上一步（分钟）", "After the step before (minutes)"),
    "policies.delay_hint": ("第一步从触发算起；1 天 = 1440 分钟。", "The first from the raise; a day is 1440."),
    "policies.targets": ("通知对象（每行一个）", "Targets (one a line)"),
    "policies.targets_hint": ("person:姓名、unit:单位代码、role:角色组；可用 {unit} {area} {township} {people}。",
                              "person:…, unit:…, role:…; {unit} {area} {township} {people} are filled in."),
    "policies.channels": ("渠道", "Channels"),
    "policies.all_acks": ("每个对象都须确认（约谈）", "Every target must acknowledge (summons)"),
    "policies.ack_timeout": ("确认失效 / 提醒间隔（分钟）", "Acknowledgement lapses / reminds after (minutes)"),
    "policies.minutes_required": ("请填写分钟数（0 为立即）", "Minutes required (0: at once)"),
    "policies.minutes_invalid": ("须为 0 到 527040 之间的分钟数", "Minutes from 0 to 527040"),
    "policies.created": ("策略已创建。", "Policy created."),
    "policies.saved": ("策略已保存；已触发的预警仍按原阶梯升级。",
                       "Saved; alerts raised before keep the ladder they froze."),
    "policies.delete": ("删除策略", "Delete policy"),
    "policies.delete_confirm": ("确定删除此策略吗？新预警将改用内置阶梯。",
                                "Delete this policy? New alerts fall back to the built-in ladder."),
    "policies.deleted": ("策略已删除。", "Policy deleted."),
    "policies.save": ("保存", "Save"),
})

NOTICES = {"created": "policies.created", "saved": "policies.saved", "deleted": "policies.deleted"}


POLICIES = Table(
    columns=[
        Column("name", "名称", "Name", link=lambda row: f"/alerts/policies/{row['id']}"),
        Column("kind", "预警类型", "Alert kind"),
        Column("scope_unit", "适用单位", "For unit"),
        Column("scope_area", "适用区域", "For area"),
        Column("steps", "步骤", "Steps", text=lambda row, lang: " → ".join(s["label"] for s in row["steps"])),
        Column("repeat", "重复次数", "Repeats"),
    ],
    filters=[Filter("kind", "预警类型", "Alert kind", max_length=100)],
    csv_name="escalation-policies",
)


@router.get("/alerts/policies")
async def policy_list(request: Request, person: Admin) -> Response:
    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        # alerts lists every stored policy at once (there are a few per kind and scope): one page
        kind = {"kind": params["kind"]} if "kind" in params else {}
        return {"items": await person.services.get(SERVICE, "/v1/policies", params=kind), "next_after": None}

    builtin = await person.services.get(SERVICE, "/v1/builtin-policies")
    return await POLICIES.respond(request, fetch, lambda view: render(
        request, "alerts/policies.html", person, table=view, builtin=builtin, duration=duration,
        channel=lambda c: label_of(CHANNEL_LABELS, c, lang(request)),
        notice=NOTICES.get(request.query_params.get("done", ""))))


def _editor(request: Request, person: Person, form: Form, rows: int, *, policy_id: str | None = None,
            status_code: int = 200) -> Response:
    return render(request, "alerts/policy_edit.html", person, status_code=status_code, form=form, rows=rows,
                  policy_id=policy_id, channels=[(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                  notice=NOTICES.get(request.query_params.get("done", "")))


@router.get("/alerts/policies/new")
async def new_policy(request: Request, person: Admin) -> Response:
    copy_of = request.query_params.get("from")
    source = None
    if copy_of:
        builtin = await person.services.get(SERVICE, "/v1/builtin-policies")
        source = next((p for p in builtin if p.get("kind") == copy_of), None)
    form, rows = form_from_policy({**source, "name": ""} if source else None)
    return _editor(request, person, form, rows)


async def _submit(request: Request, person: Person, policy_id: str | None) -> Response:
    submitted = await request.form()
    rows = rows_of(submitted)
    form = Form.from_request_values(submitted, fields(rows))
    body, field_map = body_from_form(form, rows, lang(request))
    if form.failed:
        return _editor(request, person, form, rows, policy_id=policy_id, status_code=422)
    try:
        if policy_id is None:
            saved: dict[str, Any] = await person.services.post(SERVICE, "/v1/policies", json=body)
        else:
            saved = await person.services.put(SERVICE, f"/v1/policies/{policy_id}", json=body)
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return _editor(request, person, form.refused(refusal, field_map), rows, policy_id=policy_id,
                       status_code=refusal.status)
    done = "created" if policy_id is None else "saved"
    return RedirectResponse(f"/alerts/policies/{saved['id']}?done={done}", status_code=303)


@router.post("/alerts/policies/new")
async def create_policy(request: Request, person: Admin) -> Response:
    return await _submit(request, person, None)


@router.get("/alerts/policies/{policy_id}")
async def policy_page(request: Request, person: Admin, policy_id: ObjectId) -> Response:
    policy = await person.services.get(SERVICE, f"/v1/policies/{policy_id}")
    form, rows = form_from_policy(policy)
    return _editor(request, person, form, rows, policy_id=policy_id)


@router.post("/alerts/policies/{policy_id}")
async def replace_policy(request: Request, person: Admin, policy_id: ObjectId) -> Response:
    return await _submit(request, person, policy_id)


@router.post("/alerts/policies/{policy_id}/delete")
async def delete_policy(person: Admin, policy_id: ObjectId) -> Response:
    await person.services.delete(SERVICE, f"/v1/policies/{policy_id}")
    return RedirectResponse("/alerts/policies?done=deleted", status_code=303)
