"""My shifts (``/me/shifts``: the next first, today's marked; past ones on request; CSV) and a shift's page (its
crew's presence, its handoff reminders, check-in now and a way to ask for a swap).

The list is the member's whole set of shifts in the chosen range (roster pages by shift id; a volunteer's date
order needs them all, and they are tens), paged here by offset.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.member import roster
from console.pages.member.common import SEEN_COOKIE, Member, member_id, now, zone
from console.pages.member.view import (
    ShiftView,
    When,
    checkable,
    day_range,
    notice_views,
    ordered,
    page_of,
    presence_words,
    seen_up_to,
    shift_href,
    shift_view,
    swappable,
)
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.pages import lang, render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)
ShiftId = Annotated[str, Path(min_length=1, max_length=200)]
NOTICES = {"checked_in": "member.checked_in", "again": "member.checked_in_before"}


def _view(row: Any) -> ShiftView:
    view: ShiftView = row["view"]
    return view


SHIFTS = Table(
    columns=[
        Column("day", "日期", "Date", text=lambda row, lang: _view(row).day.isoformat()),
        Column("weekday", "星期", "Weekday", text=lambda row, lang: _view(row).weekday(lang)),
        Column("hours", "时间", "Hours", text=lambda row, lang: _view(row).hours(lang)),
        Column("duty", "勤务", "Duty", text=lambda row, lang: _view(row).duty(lang)),
        Column("title", "名称", "Title", text=lambda row, lang: _view(row).title),
        Column("place", "地点", "Place", text=lambda row, lang: _view(row).place),
        Column("route", "路线", "Route", text=lambda row, lang: _view(row).route_id or ""),
        Column("team", "队伍", "Team", text=lambda row, lang: _view(row).team),
        Column("period", "期次", "Period", text=lambda row, lang: _view(row).period_id),
        Column("shift_id", "班次编号", "Shift id", text=lambda row, lang: _view(row).shift_id),
    ],
    filters=[Filter("when", "显示", "Show", choices=[(w.value, *label) for w, label in (
        (When.UPCOMING, ("即将开始", "Upcoming")), (When.PAST, ("已结束", "Past")))])],
    page_size=20,
    csv_name="my-shifts",
)


@router.get("/me/shifts")
async def my_shifts(request: Request, person: Member) -> Response:
    moment, local = now(request), zone(request)

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        when = When(params.get("when", When.UPCOMING.value))
        day_from, day_to = day_range(when, moment, local)
        rows = await roster.my_shifts(person.services, day_from=day_from, day_to=day_to)
        views = ordered((shift_view(r, local, moment) for r in rows), when)
        chunk, next_after = page_of(views, int(params["limit"]), params.get("after"))
        return {"items": [{"view": v} for v in chunk], "next_after": next_after}

    unread = await _unread_count(request, person)
    return await SHIFTS.respond(request, fetch, lambda view: render(
        request, "member/shifts.html", person, table=view, unread=unread,
        when=view.filters.get("when", When.UPCOMING.value)))


async def _unread_count(request: Request, person: Member) -> int:
    seen = seen_up_to(request.cookies.get(SEEN_COOKIE), member_id(person))
    rows = await roster.notices(person.services)
    return sum(1 for n in notice_views(rows, zone(request), seen) if n.unread)


async def _shift_page(request: Request, person: Member, shift_id: str, *, check_in: Form | None = None,
                      status_code: int = 200) -> Response:
    local, me = zone(request), member_id(person)
    shift = shift_view(await roster.shift(person.services, shift_id), local, now(request))
    crew = await roster.presence(person.services, shift_id)
    seen = seen_up_to(request.cookies.get(SEEN_COOKIE), me)
    reminders = [n for n in notice_views(await roster.notices(person.services), local, seen)
                 if n.shift_id == shift.shift_id]
    return render(request, "member/shift.html", person, status_code=status_code, shift=shift, crew=crew, me=me,
                  mine=next((row for row in crew if row.get("member_id") == me), None), reminders=reminders,
                  check_in=check_in or Form(fields=("shift_id",)), can_check_in=checkable(shift),
                  can_swap=swappable(shift), notice=NOTICES.get(request.query_params.get("done", "")),
                  presence_words=lambda row: presence_words(row, lang(request), local))

@router.get("/me/shifts/{shift_id}")
async def shift_page(request: Request, person: Member, shift_id: ShiftId) -> Response:
    return await _shift_page(request, person, shift_id)


@router.post("/me/shifts/{shift_id}/check-in")
async def check_in(request: Request, person: Member, shift_id: ShiftId) -> Response:
    try:
        answer = await roster.check_in(person.services, shift_id)
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise  # not a shift of theirs: the 404 page, as for any unknown shift
        form = Form(fields=("shift_id",)).refused(refusal)
        return await _shift_page(request, person, shift_id, check_in=form, status_code=refusal.status)
    done = "checked_in" if answer.get("first_check_in") else "again"
    return RedirectResponse(f"{shift_href(shift_id)}?done={done}", status_code=303)

