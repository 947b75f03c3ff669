"""The alerts contacts directory (admins): who a ladder's targets are — people, units and role groups with their
channels (inbox owner, e-mail, webhook, locale) and a group's members. Listed (by kind, paged, CSV), created, edited,
deleted; a webhook's signing secret is made here and shown once, when it is made (on creation with a webhook URL,
and on each rotation), and never again: the service keeps secrets write-only and shows a fingerprint.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import SERVICE, Admin
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages, translate
from console.web.menu import MenuItem
from console.web.pages import Person, lang, render
from console.web.tables import Column, Filter, Table
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

MENU = [MenuItem("/admin/contacts", "通知联系人", "Contacts", section="admin", roles=frozenset({Role.ADMIN}),
                 order=30, summary=("升级通知的对象：人员、单位、角色组及其渠道",
                                    "Whom the ladders notify: people, units, groups and their channels"))]

messages({
    "contacts.title": ("通知联系人", "Contacts"),
    "contacts.new": ("新建联系人", "New contact"),
    "contacts.target": ("对象", "Target"),
    "contacts.target_hint": ("person:姓名、unit:单位代码 或 role:角色组（如 role:township-supervisor:330381102）",
                             "person:…, unit:… or role:… (e.g. role:township-supervisor:330381102)"),
    "contacts.display_name": ("显示名称", "Name"),
    "contacts.subject": ("收件箱账号", "Inbox owner"),
    "contacts.subject_hint": ("读取站内信的账号（控制台用户名，队员为队员编号）；角色组留空。",
                              "The account that reads the inbox (console user name; a member's member id). None for "
                              "a group."),
    "contacts.locale": ("通知语言", "Language"),
    "contacts.email": ("电子邮箱", "E-mail"),
    "contacts.webhook_url": ("Webhook 地址", "Webhook URL"),
    "contacts.webhook_hint": ("填写后自动生成签名密钥，仅显示一次。", "A signing secret is made and shown once."),
    "contacts.members": ("成员（每行一个）", "Members (one a line)"),
    "contacts.members_hint": ("仅角色组：person:… 或 unit:…", "Groups only: person:… or unit:…"),
    "contacts.secrets": ("签名密钥", "Signing secrets"),
    "contacts.no_secret": ("无", "none"),
    "contacts.rotate": ("轮换签名密钥", "Rotate the signing secret"),
    "contacts.keep_previous": ("旧密钥继续有效（过渡期双签名）", "Keep the old secret valid too (both sign)"),
    "contacts.secret_once": ("新的签名密钥（只显示这一次，请立即交给接收方）：",
                             "The new signing secret (shown this once: give it to the receiver now):"),
    "contacts.delete": ("删除联系人", "Delete contact"),
    "contacts.delete_confirm": ("确定删除吗？已排队给它的通知将投递失败。",
                                "Delete it? Notifications queued for it will fail."),
    "contacts.created": ("联系人已创建。", "Contact created."),
    "contacts.saved": ("已保存。", "Saved."),
    "contacts.deleted": ("联系人已删除。", "Contact deleted."),
    "contacts.target_invalid": ("须为 person:…、unit:… 或 role:…，不含 / ? # 和空格",
                                "person:…, unit:… or role:…, without / ? # or spaces"),
    "contacts.exists": ("该对象已存在，请在列表中修改它。", "It exists already: edit it from the list."),
    "contacts.updated": ("更新时间", "Updated"),
})

FIELDS = ("target", "display_name", "subject", "locale", "email", "webhook_url", "members")
KIND_CHOICES = [("person", "人员", "people"), ("unit", "单位", "units"), ("role", "角色组", "groups")]
NOTICES = {"created": "contacts.created", "saved": "contacts.saved", "deleted": "contacts.deleted"}
TARGET_SHAPE = re.compile(r"(person|unit|role):[^/?#\s][^/?#\x00-\x1f]{0,199}")
Target = Annotated[str, Path(min_length=3, max_length=205, pattern=r"^(person|unit|role):[^/?#\s][^/?#]*$")]


def _href(target: str) -> str:
    return f"/admin/contacts/{quote(target, safe=':')}"


CONTACTS = Table(
    columns=[
        Column("target", "对象", "Target", link=lambda row: _href(row["target"])),
        Column("display_name", "显示名称", "Name"),
        Column("subject", "收件箱账号", "Inbox owner"),
        Column("email", "电子邮箱", "E-mail"),
        Column("webhook_url", "Webhook 地址", "Webhook URL"),
        Column("secrets", "签名密钥", "Secrets", text=lambda row, lang: str(len(row.get("webhook_secrets") or []))),
        Column("members", "成员", "Members"),
    ],
    filters=[Filter("kind", "类型", "Kind", choices=KIND_CHOICES)],
    csv_name="contacts",
)


@router.get("/admin/contacts")
async def contact_list(request: Request, person: Admin) -> Response:
    async def fetch(params: dict[str, str]) -> Any:
        return await person.services.get(SERVICE, "/v1/contacts", params=params)

    return await CONTACTS.respond(request, fetch, lambda view: render(
        request, "operations/contacts.html", person, table=view,
        notice=NOTICES.get(request.query_params.get("done", ""))))


def _body(form: Form) -> dict[str, Any]:
    members = [m.strip() for m in form.value("members").replace(",", "\n").splitlines() if m.strip()]
    body: dict[str, Any] = {"display_name": form.value("display_name").strip(),
                            "locale": form.value("locale") or "zh", "members": members}
    for name in ("subject", "email", "webhook_url"):
        if form.value(name).strip():
            body[name] = form.value(name).strip()
    return body


def _editor(request: Request, person: Person, form: Form, *, contact: dict[str, Any] | None = None,
            secret: str | None = None, status_code: int = 200) -> Response:
    return render(request, "operations/contact_edit.html", person, status_code=status_code, form=form,
                  contact=contact, secret=secret, href=_href, notice=NOTICES.get(
                      request.query_params.get("done", "")))


@router.get("/admin/contacts/new")
async def new_contact(request: Request, person: Admin) -> Response:
    return _editor(request, person, Form(fields=FIELDS, values={"locale": "zh"}))


@router.post("/admin/contacts/new")
async def create_contact(request: Request, person: Admin) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    target = form.value("target").strip()
    if not TARGET_SHAPE.fullmatch(target):
        form.error("target", translate(lang(request), "contacts.target_invalid"))
        return _editor(request, person, form, status_code=422)
    body = _body(form)
    secret = secrets.token_urlsafe(32) if body.get("webhook_url") else None
    if secret:
        body["webhook_secrets"] = [secret]
    try:
        await person.services.get(SERVICE, f"/v1/contacts/{quote(target, safe=':')}")
    except ServiceRefused:
        pass  # 404: free to create (a target of the wrong shape: the PUT below names it)
    else:  # a PUT would replace it: creating is not editing
        form.error("target", translate(lang(request), "contacts.exists"))
        return _editor(request, person, form, status_code=409)
    try:
        contact = await person.services.put(SERVICE, f"/v1/contacts/{quote(target, safe=':')}", json=body)
    except ServiceRefused as refusal:
        return _editor(request, person, form.refused(refusal, {"path.target": "target"}), status_code=refusal.status)
    if secret is None:
        return RedirectResponse(f"{_href(contact['target'])}?done=created", status_code=303)
    # the one time this secret is shown: in this answer (never stored by the console, never put in a URL)
    return await _contact_page(request, person, contact["target"], secret=secret, status_code=201)


async def _contact_page(request: Request, person: Person, target: str, *, form: Form | None = None,
                        secret: str | None = None, status_code: int = 200) -> Response:
    contact = await person.services.get(SERVICE, f"/v1/contacts/{quote(target, safe=':')}")
    values = {name: str(contact.get(name) or "") for name in FIELDS}
    values["members"] = "\n".join(contact.get("members") or [])
    return _editor(request, person, form or Form(fields=FIELDS, values=values), contact=contact, secret=secret,
                   status_code=status_code)


@router.get("/admin/contacts/{target}")
async def contact_page(request: Request, person: Admin, target: Target) -> Response:
    return await _contact_page(request, person, target)


@router.post("/admin/contacts/{target}")
async def update_contact(request: Request, person: Admin, target: Target) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    try:
        # no webhook_secrets: the contact keeps its own (the console never sees them to send back)
        await person.services.put(SERVICE, f"/v1/contacts/{quote(target, safe=':')}", json=_body(form))
    except ServiceRefused as refusal:
        return await _contact_page(request, person, target, form=form.refused(refusal), status_code=refusal.status)
    return RedirectResponse(f"{_href(target)}?done=saved", status_code=303)


@router.post("/admin/contacts/{target}/webhook-secret")
async def rotate_secret(request: Request, person: Admin, target: Target) -> Response:
    submitted = await request.form()
    secret = secrets.token_urlsafe(32)
    await person.services.post(SERVICE, f"/v1/contacts/{quote(target, safe=':')}/webhook-secret",
                               json={"secret": secret, "keep_previous": submitted.get("keep_previous") == "1"})
    return await _contact_page(request, person, target, secret=secret)


@router.post("/admin/contacts/{target}/delete")
async def delete_contact(person: Admin, target: Target) -> Response:
    await person.services.delete(SERVICE, f"/v1/contacts/{quote(target, safe=':')}")
    return RedirectResponse("/admin/contacts?done=deleted", status_code=303)
