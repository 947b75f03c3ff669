"""The admin's accounts: list (filter, page, CSV), create, change role and scope, reset a password, disable or
enable; and the audit trail (sign-ins, sign-outs, every change to an account). Admins only.

The whole pattern a page module follows: a ``Table`` over a list, forms re-shown with each refusal by its field,
a redirect after each change (so a reload does not repeat it) with a one-line notice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.domain.accounts import PERSON_ROLES, ROLE_LABELS, SCOPE_FIELDS, SCOPE_LABELS, Account
from console.domain.audit import AUDIT_LABELS, FAILURE_REASONS, Actor, AuditEntry, AuditKind
from console.pages.signin import client_address
from console.web.forms import Form
from console.web.i18n import messages, pick
from console.web.menu import MenuItem
from console.web.pages import Person, console, render, require
from console.web.tables import Column, Filter, Table
from pingan_shared.auth import Role
from pingan_shared.refused import Refused

router = APIRouter(include_in_schema=False)
Admin = Annotated[Person, Depends(require(Role.ADMIN))]
Username = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]

messages({
    "accounts.title": ("账号管理", "Accounts"),
    "accounts.new": ("新建账号", "New account"),
    "accounts.username": ("用户名", "User name"),
    "accounts.display_name": ("姓名", "Name"),
    "accounts.role": ("角色", "Role"),
    "accounts.scope": ("范围", "Scope"),
    "accounts.state": ("状态", "State"),
    "accounts.enabled": ("正常", "active"),
    "accounts.disabled": ("已停用", "disabled"),
    "accounts.updated": ("更新时间", "Updated"),
    "accounts.password": ("初始密码", "Initial password"),
    "accounts.new_password": ("新密码", "New password"),
    "accounts.password_rule": ("至少 10 个字符，不能是常见密码，不能包含用户名。",
                               "At least 10 characters, not a common password, not containing the user name."),
    "accounts.scope_rule": ("责任单位填单位代码；督办领导可填辖区地点代码（不填为全市）；巡逻队员填队员编号。",
                            "A unit account names its unit code; a supervisor may name a place code (none: "
                            "city-wide); a patrol member names their member id."),
    "accounts.create": ("创建", "Create"),
    "accounts.edit": ("角色与范围", "Role and scope"),
    "accounts.reset": ("重置密码", "Reset password"),
    "accounts.reset_note": ("重置后该账号的所有会话立即结束。", "All of the account's sessions end at once."),
    "accounts.disable": ("停用账号", "Disable account"),
    "accounts.enable": ("启用账号", "Enable account"),
    "accounts.disable_confirm": ("确定停用此账号吗？其会话将立即结束。",
                                 "Disable this account? Its sessions end at once."),
    "accounts.created": ("账号已创建。", "Account created."),
    "accounts.saved": ("已保存。", "Saved."),
    "accounts.password_reset": ("密码已重置。", "Password reset."),
    "accounts.state_changed": ("账号状态已更新。", "Account state changed."),
    "accounts.recent": ("最近记录", "Recent activity"),
    "audit.title": ("审计日志", "Audit trail"),
    "audit.at": ("时间", "Time"),
    "audit.kind": ("事件", "Event"),
    "audit.actor": ("操作人", "By"),
    "audit.account": ("账号", "Account"),
    "audit.address": ("地址", "Address"),
    "audit.detail": ("详情", "Detail"),
})

MENU = [
    MenuItem("/admin/accounts", "账号管理", "Accounts", section="admin", roles=frozenset({Role.ADMIN}), order=10,
             summary=("创建账号，分配角色与范围，重置密码", "Create accounts, give roles and scopes, reset passwords")),
    MenuItem("/admin/audit", "审计日志", "Audit trail", section="admin", roles=frozenset({Role.ADMIN}), order=20,
             summary=("登录与账号变更记录", "Sign-ins and account changes")),
]

PROFILE_FIELDS = ("display_name", "role", *SCOPE_FIELDS)
NEW_FIELDS = ("username", *PROFILE_FIELDS, "password")
NOTICES = {"created": "accounts.created", "saved": "accounts.saved", "password": "accounts.password_reset",
           "state": "accounts.state_changed"}


def _role_text(row: dict[str, Any], lang: str) -> str:
    pair = ROLE_LABELS.get(Role(row["role"]))
    return pick(lang, *pair) if pair else row["role"]


def _scope_text(row: dict[str, Any], lang: str) -> str:
    return "，".join(f"{pick(lang, *SCOPE_LABELS[name])} {row[name]}" for name in SCOPE_FIELDS if row.get(name))


ACCOUNTS = Table(
    columns=[
        Column("username", "用户名", "User name", link=lambda row: f"/admin/accounts/{row['username']}"),
        Column("display_name", "姓名", "Name"),
        Column("role", "角色", "Role", text=_role_text),
        Column("scope", "范围", "Scope", text=_scope_text),
        Column("disabled", "状态", "State",
               text=lambda row, lang: pick(lang, "已停用", "disabled") if row["disabled"] else pick(lang, "正常",
                                                                                                    "active")),
        Column("updated_at", "更新时间", "Updated", text=lambda row, lang: row["updated_at"][:16].replace("T", " ")),
    ],
    filters=[Filter("role", "角色", "Role", choices=[(r.value, *ROLE_LABELS[r]) for r in PERSON_ROLES]),
             Filter("q", "用户名或姓名", "Name contains", max_length=64)],
    csv_name="accounts",
)


def _account_row(account: Account) -> dict[str, Any]:
    return {"username": account.username, "display_name": account.display_name, "role": account.role.value,
            **account.scope.as_dict(), "disabled": account.disabled, "updated_at": account.updated_at.isoformat()}


@router.get("/admin/accounts")
async def account_list(request: Request, person: Admin) -> Response:
    book = console(request).accounts

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        limit = int(params["limit"])
        found = await book.listing(role=Role(params["role"]) if "role" in params else None, text=params.get("q"),
                                   limit=limit, after=params.get("after"))
        return {"items": [_account_row(a) for a in found],
                "next_after": found[-1].username if len(found) == limit else None}

    return await ACCOUNTS.respond(request, fetch,
                                  lambda view: render(request, "accounts/list.html", person, table=view))


def _role_choices() -> list[tuple[str, str, str]]:
    return [(r.value, *ROLE_LABELS[r]) for r in PERSON_ROLES]


@router.get("/admin/accounts/new")
async def new_account_form(request: Request, person: Admin) -> Response:
    return render(request, "accounts/new.html", person, form=Form(fields=NEW_FIELDS, values={"role": "organiser"}),
                  roles=_role_choices())


@router.post("/admin/accounts/new")
async def create_account(request: Request, person: Admin) -> Response:
    form = Form.from_request_values(await request.form(), NEW_FIELDS)
    try:
        account = await console(request).accounts.create(
            _actor(request, person), username=form.value("username"), display_name=form.value("display_name"),
            role=form.value("role"), scope={name: form.value(name) for name in SCOPE_FIELDS},
            password=form.value("password"))
    except Refused as refusal:
        form.values.pop("password", None)  # never sent back into a page
        return render(request, "accounts/new.html", person, form=form.refused(refusal), roles=_role_choices(),
                      status_code=refusal.status)
    return RedirectResponse(f"/admin/accounts/{account.username}?done=created", status_code=303)


async def _account_page(request: Request, person: Admin, username: str, *, profile: Form | None = None,
                        password: Form | None = None, status_code: int = 200) -> Response:
    ctx = console(request)
    account = await ctx.accounts.get(username)
    recent = await ctx.accounts.audit(account=username, limit=10)
    values = {"display_name": account.display_name, "role": account.role.value,
              **{k: v or "" for k, v in account.scope.as_dict().items()}}
    notice = NOTICES.get(request.query_params.get("done", ""))
    return render(request, "accounts/edit.html", person, status_code=status_code, account=account,
                  profile=profile or Form(fields=PROFILE_FIELDS, values=values),
                  password=password or Form(fields=("password",)), roles=_role_choices(), recent=recent,
                  notice=notice, audit_text=audit_text)


@router.get("/admin/accounts/{username}")
async def account_page(request: Request, person: Admin, username: Username) -> Response:
    return await _account_page(request, person, username)


@router.post("/admin/accounts/{username}")
async def update_account(request: Request, person: Admin, username: Username) -> Response:
    form = Form.from_request_values(await request.form(), PROFILE_FIELDS)
    try:
        await console(request).accounts.update(
            _actor(request, person), username, display_name=form.value("display_name"), role=form.value("role"),
            scope={name: form.value(name) for name in SCOPE_FIELDS})
    except Refused as refusal:
        if refusal.status == 404:
            raise
        return await _account_page(request, person, username, profile=form.refused(refusal),
                                   status_code=refusal.status)
    return RedirectResponse(f"/admin/accounts/{username}?done=saved", status_code=303)


@router.post("/admin/accounts/{username}/password")
async def reset_password(request: Request, person: Admin, username: Username) -> Response:
    submitted = await request.form()
    new_password = submitted.get("password")
    try:
        await console(request).accounts.reset_password(_actor(request, person), username,
                                                       new_password if isinstance(new_password, str) else "")
    except Refused as refusal:
        if refusal.status == 404:
            raise
        return await _account_page(request, person, username, password=Form(fields=("password",)).refused(refusal),
                                   status_code=refusal.status)
    return RedirectResponse(f"/admin/accounts/{username}?done=password", status_code=303)


@router.post("/admin/accounts/{username}/disabled")
async def set_disabled(request: Request, person: Admin, username: Username) -> Response:
    submitted = await request.form()
    disabled = submitted.get("disabled") == "1"
    try:
        await console(request).accounts.set_disabled(_actor(request, person), username, disabled)
    except Refused as refusal:
        if refusal.status == 404:
            raise
        return await _account_page(request, person, username,
                                   profile=Form(fields=PROFILE_FIELDS).refused(refusal), status_code=refusal.status)
    return RedirectResponse(f"/admin/accounts/{username}?done=state", status_code=303)


def audit_text(entry: AuditEntry, lang: str) -> str:
    """An audit entry's detail in words: why a sign-in failed, a role change from what to what."""
    detail = entry.detail
    if entry.kind is AuditKind.SIGNIN_FAILED:
        reason = FAILURE_REASONS.get(str(detail.get("reason")))
        return pick(lang, *reason) if reason else ""
    if entry.kind is AuditKind.ROLE_CHANGED:
        def side(values: dict[str, Any]) -> str:
            return " ".join(f"{k}={v}" for k, v in values.items())
        return f"{side(detail.get('from', {}))} → {side(detail.get('to', {}))}"
    return " ".join(f"{k}={v}" for k, v in detail.items())


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "kind": entry.kind.value, "actor": entry.actor or "",
            "account": entry.account or "", "address": entry.address or "", "entry": entry}


AUDIT = Table(
    columns=[
        Column("at", "时间", "Time", text=lambda row, lang: row["at"][:19].replace("T", " ")),
        Column("kind", "事件", "Event", text=lambda row, lang: pick(lang, *AUDIT_LABELS[AuditKind(row["kind"])])),
        Column("actor", "操作人", "By"),
        Column("account", "账号", "Account", link=lambda row: f"/admin/accounts/{row['account']}"
               if row["account"] else None),
        Column("address", "地址", "Address"),
        Column("detail", "详情", "Detail", text=lambda row, lang: audit_text(row["entry"], lang)),
    ],
    filters=[Filter("account", "账号", "Account", max_length=64),
             Filter("kind", "事件", "Event", choices=[(k.value, *AUDIT_LABELS[k]) for k in AuditKind])],
    csv_name="audit",
    cursor_param="before",
)


@router.get("/admin/audit")
async def audit_list(request: Request, person: Admin) -> Response:
    book = console(request).accounts

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        limit = int(params["limit"])
        before = params.get("before")
        found = await book.audit(account=params.get("account"),
                                 kind=AuditKind(params["kind"]) if "kind" in params else None, limit=limit,
                                 before_id=int(before) if before and before.isdigit() else None)
        return {"items": [_audit_row(e) for e in found], "next_after": str(found[-1].id) if len(found) == limit
                else None}

    return await AUDIT.respond(request, fetch, lambda view: render(request, "accounts/audit.html", person, table=view))


def _actor(request: Request, person: Person) -> Actor:
    return Actor(person.account.username, client_address(request))
