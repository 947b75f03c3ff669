"""Delivery dead letters (admins): notifications that failed every attempt — listed with their recipient, channel,
attempts and last reason and the alerts they carried (open ones by default; filtered by channel, recipient, alert;
paged; CSV), and re-sent one by one or every open one the filters match, after a receiver's outage. A re-send goes
with a fresh attempt budget and the same idempotency key (receivers drop repeats); one whose recipient's contact was
removed since is refused (409), and said so on the page.

These are the alerts service's own deliveries. The platform's dead-letter topics (``deadletter.<service>``: events a
consumer could not parse or apply) are each service's own, listed beside these by ``platform_dead_letters``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import CHANNEL_LABELS, SERVICE, Admin, label_of, with_local_times, zone_of
from console.services import ServiceRefused
from console.web.i18n import messages, pick, translate
from console.web.menu import MenuItem
from console.web.pages import Person, lang, render
from console.web.tables import Column, Filter, Table
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

MENU = [MenuItem("/admin/dead-letters", "投递死信", "Dead letters", section="admin", roles=frozenset({Role.ADMIN}),
                 order=40, summary=("多次投递失败的通知：查看并重发", "Notifications that failed every attempt: "
                                                                        "see and re-send"))]

messages({
    "deadletters.title": ("投递死信", "Delivery dead letters"),
    "deadletters.resend": ("重发", "Re-send"),
    "deadletters.resend_all": ("重发筛选出的全部未处理死信", "Re-send every open dead letter these filters match"),
    "deadletters.resend_all_confirm": ("确定全部重发吗？", "Re-send them all?"),
    "deadletters.resent": ("已重发。", "Re-sent."),
    "deadletters.bulk": ("已重发 {n} 条；跳过 {m} 条（其联系人已被删除，请先恢复联系人）。",
                         "Re-sent {n}; skipped {m} (their contact was removed: put it back first)."),
})

STATUS_CHOICES = [("open", "未处理", "open"), ("resent", "已重发", "re-sent"), ("all", "全部", "all")]
CHANNEL_CHOICES = [(c, *CHANNEL_LABELS[c]) for c in ("webhook", "email", "inbox", "stream")]
RESEND_FILTERS = ("channel", "recipient", "alert_id")


def _alerts(row: dict[str, Any], lang: str) -> str:
    """What the message carried: each alert's step label and kind."""
    return "；".join(f"{n.get('label') or ''} {n.get('kind') or ''}".strip() for n in row.get("notifications") or [])


def _state(row: dict[str, Any], lang: str) -> str:
    if row.get("status") == "resent":
        return pick(lang, f"已重发 · {row.get('resent_by') or ''}", f"re-sent · {row.get('resent_by') or ''}")
    return pick(lang, "未处理", "open")


DEAD_LETTERS = Table(
    columns=[
        Column("id", "编号", "No."),
        Column("failed_at_local", "失败时间", "Failed"),
        Column("recipient", "接收方", "Recipient"),
        Column("channel", "渠道", "Channel", text=lambda row, lang: label_of(CHANNEL_LABELS, row["channel"], lang)),
        Column("attempts", "尝试次数", "Attempts"),
        Column("reason", "最后原因", "Last reason"),
        Column("alerts", "通知内容", "Carried", text=_alerts,
               link=lambda row: f"/alerts/{row['notifications'][0]['alert_id']}" if row.get("notifications")
               else None),
        Column("status", "状态", "State", text=_state),
    ],
    filters=[Filter("status", "状态", "State", choices=STATUS_CHOICES),
             Filter("channel", "渠道", "Channel", choices=CHANNEL_CHOICES),
             Filter("recipient", "接收方", "Recipient", max_length=205),
             Filter("alert_id", "预警编号", "Alert id", max_length=64)],
    csv_name="dead-letters",
)


async def _page(request: Request, person: Person, *, problem: str | None = None, status_code: int = 200) -> Response:
    zone = zone_of(request)

    async def fetch(params: dict[str, str]) -> Any:
        page = await person.services.get(SERVICE, "/v1/deliveries/dead-letters", params=params)
        return {**page, "items": with_local_times(page["items"], zone, "failed_at")}

    query = request.query_params
    notice = None
    if query.get("done") == "resent":
        notice = translate(lang(request), "deadletters.resent")
    elif query.get("done") == "bulk":
        counts = {key: query.get(key, "0") for key in ("n", "m")}
        if all(count.isdigit() for count in counts.values()):
            notice = translate(lang(request), "deadletters.bulk").replace("{n}", counts["n"]).replace(
                "{m}", counts["m"])
    return await DEAD_LETTERS.respond(request, fetch, lambda view: render(
        request, "operations/dead_letters.html", person, status_code=status_code, table=view, notice=notice,
        problem=problem, resend_filters={k: v for k, v in view.filters.items() if k in RESEND_FILTERS}))


@router.get("/admin/dead-letters")
async def dead_letters(request: Request, person: Admin) -> Response:
    return await _page(request, person)


@router.post("/admin/dead-letters/resend")
async def resend_matching(request: Request, person: Admin) -> Response:
    submitted = await request.form()
    body = {k: v.strip() for k in RESEND_FILTERS if isinstance(v := submitted.get(k), str) and v.strip()}
    answer = await person.services.post(SERVICE, "/v1/deliveries/dead-letters/resend", json=body)
    return RedirectResponse(f"/admin/dead-letters?done=bulk&n={int(answer['resent'])}&m={len(answer['skipped'])}",
                            status_code=303)


@router.post("/admin/dead-letters/{dead_letter_id}/resend")
async def resend(request: Request, person: Admin, dead_letter_id: int = Path(ge=1, le=2**62)) -> Response:
    try:
        await person.services.post(SERVICE, f"/v1/deliveries/dead-letters/{dead_letter_id}/resend")
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, problem=refusal.detail, status_code=refusal.status)
    return RedirectResponse("/admin/dead-letters?done=resent", status_code=303)
