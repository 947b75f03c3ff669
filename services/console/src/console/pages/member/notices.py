"""Handoff reminders (``/me/notices``, roster's ``/v1/me/notices``): newest first, the ones not shown before
marked unread (``view.seen_up_to``: the console remembers the newest shown, per member, in a cookie), filter to
the unread ones, pages, CSV. Opening the page marks everything on it read for next time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.pages.member import roster
from console.pages.member.common import SEEN_COOKIE, SEEN_COOKIE_SECONDS, Member, member_id, zone
from console.pages.member.view import NoticeView, notice_views, page_of, seen_cookie, seen_up_to, shift_href
from console.web.i18n import pick
from console.web.pages import console, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)


def _notice(row: Any) -> NoticeView:
    notice: NoticeView = row["notice"]
    return notice


NOTICES = Table(
    columns=[
        Column("created_at", "时间", "Time", text=lambda row, lang: _notice(row).created_at.strftime("%Y-%m-%d %H:%M")),
        Column("text", "内容", "Text", text=lambda row, lang: _notice(row).text),
        Column("shift_id", "班次", "Shift", text=lambda row, lang: _notice(row).shift_id,
               link=lambda row: shift_href(_notice(row).shift_id)),
        Column("unread", "未读", "Unread", text=lambda row, lang: pick(lang, "未读", "new") if _notice(row).unread
               else ""),
    ],
    filters=[Filter("show", "显示", "Show", choices=[("unread", "只看未读", "Unread only")])],
    page_size=20,
    csv_name="handoff-reminders",
)


@router.get("/me/notices")
async def notice_list(request: Request, person: Member) -> Response:
    me = member_id(person)
    seen = seen_up_to(request.cookies.get(SEEN_COOKIE), me)
    everything = notice_views(await roster.notices(person.services), zone(request), seen)

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        shown = [n for n in everything if n.unread] if params.get("show") == "unread" else everything
        chunk, next_after = page_of(shown, int(params["limit"]), params.get("after"))
        return {"items": [{"notice": n} for n in chunk], "next_after": next_after}

    response = await NOTICES.respond(request, fetch, lambda view: render(request, "member/notices.html", person,
                                                                         table=view))
    newest = max((n.id for n in everything), default=0)
    if newest > seen and request.query_params.get("format") != "csv":
        response.set_cookie(SEEN_COOKIE, seen_cookie(me, newest), max_age=SEEN_COOKIE_SECONDS, path="/me",
                            httponly=True, samesite="lax", secure=console(request).cookie_secure)
    return response
