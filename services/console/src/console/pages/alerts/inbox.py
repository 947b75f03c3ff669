"""The person's alert inbox (``/v1/inbox``: what the ladders told them, newest first, their own only) with its unread
count, which the page keeps live (``live.py``: the alerts stream relayed, the count re-read); marking a message read
or unread. And the alerts themselves (``/v1/alerts``: a unit's own, a supervisor's scope, everything for an admin),
filtered by status and kind, paged and exported."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import (
    INBOX_OWNERS,
    READERS,
    SERVICE,
    SEVERITY_LABELS,
    STATUS_LABELS,
    InboxOwner,
    Reader,
    kind_text,
    label_of,
    place_text,
    with_local_times,
    zone_of,
)
from console.pages.alerts.live import WATCHERS
from console.web.i18n import pick
from console.web.menu import MenuItem
from console.web.pages import render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)

MENU = [
    MenuItem("/alerts/inbox", "预警收件箱", "Alert inbox", section="alerts", roles=INBOX_OWNERS, order=10,
             summary=("升级阶梯通知到您的预警，未读数实时更新", "What the ladders told you, the unread count live")),
    MenuItem("/alerts", "预警列表", "Alerts", section="alerts", roles=READERS, order=20,
             summary=("辖区内的预警：筛选、导出、查看升级阶梯", "Alerts in your scope: filter, export, the ladder")),
]


def _alert_link(row: dict[str, Any]) -> str | None:
    ids = row.get("alert_ids") or []
    return f"/alerts/{ids[0]}" if ids else None


INBOX = Table(
    columns=[
        Column("created_at_local", "收到时间", "Received"),
        Column("title", "标题", "Title", link=_alert_link),
        Column("body", "内容", "Message"),
        Column("read", "状态", "State",
               text=lambda row, lang: pick(lang, "已读", "read") if row["read"] else pick(lang, "未读", "unread")),
    ],
    filters=[Filter("unread", "只看未读", "Unread only", choices=[("true", "是", "yes")])],
    csv_name="alert-inbox",
    cursor_param="before",
    page_size=30,
)


@router.get("/alerts/inbox")
async def inbox(request: Request, person: InboxOwner) -> Response:
    unread: dict[str, int] = {}

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        page = await person.services.get(SERVICE, "/v1/inbox", params={**params, "limit": min(int(params["limit"]),
                                                                                                  200)})
        unread["count"] = int(page.get("unread") or 0)
        return {"items": with_local_times(page.get("items") or [], zone_of(request), "created_at"),
                "next_after": page.get("next_before")}

    return await INBOX.respond(request, fetch, lambda view: render(
        request, "alerts/inbox.html", person, table=view, unread=unread.get("count", 0),
        live=person.role in WATCHERS, back=_here(request)))


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _back_to(back: str) -> str:
    """Back to the inbox page the person came from (and only there: never an outside address)."""
    return back if back.startswith("/alerts/inbox") and "//" not in back and "\\" not in back else "/alerts/inbox"


@router.post("/alerts/inbox/{message_id}/{state}")
async def mark(request: Request, person: InboxOwner, message_id: int = Path(ge=1, le=2**62),
               state: str = Path(pattern="^(read|unread)$"), back: str = Form("/alerts/inbox")) -> Response:
    await person.services.post(SERVICE, f"/v1/inbox/{message_id}/{state}")
    return RedirectResponse(_back_to(back), status_code=303)


ALERTS = Table(
    columns=[
        Column("raised_at_local", "触发时间", "Raised"),
        Column("severity", "级别", "Severity", text=lambda row, lang: label_of(SEVERITY_LABELS, row["severity"], lang)),
        Column("kind", "类型", "Kind", text=kind_text),
        Column("summary", "摘要", "Summary", link=lambda row: f"/alerts/{row['id']}"),
        Column("place", "地点", "Place", text=lambda row, lang: place_text(row)),
        Column("status", "状态", "Status", text=lambda row, lang: label_of(STATUS_LABELS, row["status"], lang)),
        Column("current_label", "当前步骤", "Step"),
        Column("next_escalation_at_local", "下一步到期", "Next step due"),
    ],
    filters=[Filter("status", "状态", "Status", choices=[(k, *v) for k, v in STATUS_LABELS.items()]),
             Filter("kind", "类型", "Kind", max_length=100)],
    csv_name="alerts",
    row_class=lambda row: f"sev-{row['severity']}",  # the level's colour stripe (console.css)
)


@router.get("/alerts")
async def alert_list(request: Request, person: Reader) -> Response:
    async def fetch(params: dict[str, str]) -> Any:
        page = await person.services.get(SERVICE, "/v1/alerts", params=params)
        return {**page, "items": with_local_times(page["items"], zone_of(request), "raised_at", "next_escalation_at")}

    return await ALERTS.respond(request, fetch, lambda view: render(
        request, "alerts/list.html", person, table=view, live=person.role in WATCHERS))
