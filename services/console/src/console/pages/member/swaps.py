"""Swap requests (``/me/swaps``): the ones the member made or is named in (filter by state, pages, CSV), a new one
(one of their shifts not started yet, a colleague or none — an open request the organiser fills — and a reason),
and taking a pending one back. roster checks a named colleague at once; its refusal (Chinese first, with the
English gist) is shown under the field it names, the typed values kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.member import roster
from console.pages.member.common import Member, member_id, now, zone
from console.pages.member.view import (
    ShiftView,
    When,
    colleagues,
    day_range,
    local_time,
    ordered,
    shift_view,
    swappable,
)
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import pick, translate
from console.web.pages import render
from console.web.tables import Column, Filter, Table

router = APIRouter(include_in_schema=False)
RequestId = Annotated[str, Path(min_length=1, max_length=64)]
FIELDS = ("shift_id", "to_member_id", "note")
STATES: dict[str, tuple[str, str]] = {"pending": ("待审批", "pending"), "approved": ("已同意", "approved"),
                                      "refused": ("未同意", "refused"), "withdrawn": ("已撤回", "withdrawn")}
NOTICES = {"sent": "member.swap_sent", "withdrawn": "member.swap_withdrawn"}


def _state(row: Any, lang: str) -> str:
    pair = STATES.get(row["status"])
    return pick(lang, *pair) if pair else str(row["status"])


def _to(row: Any, lang: str) -> str:
    return row.get("to_member_id") or pick(lang, "公开申请", "open request")


def _shift(row: Any, lang: str) -> str:
    held: ShiftView | None = row["shift"]
    return held.label(lang) if held is not None else str(row["shift_id"])


REQUESTS = Table(
    columns=[
        Column("requested_at", "申请时间", "Asked", text=lambda row, lang: row["asked"]),
        # a shift the member holds, by its day and hours (linked); one it no longer holds (swapped away) or a
        # colleague's (a request naming the member) by its id alone: roster shows the member only its own
        Column("shift", "班次", "Shift", text=_shift,
               link=lambda row: row["shift"].href if row["shift"] is not None else None),
        Column("from_member_id", "申请人", "From"),
        Column("to_member_id", "接班同事", "To", text=_to),
        Column("note", "理由", "Reason"),
        Column("status", "状态", "State", text=_state),
        Column("decision_reason", "审批意见", "Decision"),
        Column("shift_id", "班次编号", "Shift id"),
    ],
    filters=[Filter("status", "状态", "State", choices=[(key, *pair) for key, pair in STATES.items()])],
    page_size=20,
    csv_name="my-swap-requests",
)


def _requests(request: Request, person: Member) -> Callable[[dict[str, str]], Awaitable[dict[str, Any]]]:
    """A page of roster's swap requests, each with its local time and, when the member holds it, its shift."""
    moment, local = now(request), zone(request)

    async def fetch(params: dict[str, str]) -> dict[str, Any]:
        page = await roster.swap_requests(person.services, params)
        items = page.get("items") or []
        held = {} if not items else {
            s.shift_id: s for s in (shift_view(r, local, moment) for r in await roster.my_shifts(
                person.services, day_from=None, day_to=None))}
        return {"items": [{**item, "asked": local_time(item.get("requested_at"), local),
                           "shift": held.get(item["shift_id"])} for item in items],
                "next_after": page.get("next_after")}

    return fetch


@router.get("/me/swaps")
async def swap_list(request: Request, person: Member) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return await REQUESTS.respond(request, _requests(request, person), lambda view: render(
        request, "member/swaps.html", person, table=view, me=member_id(person), notice=notice, problem=None))


async def _form_page(request: Request, person: Member, form: Form, *, status_code: int = 200) -> Response:
    moment, local = now(request), zone(request)
    day_from, day_to = day_range(When.UPCOMING, moment, local)
    rows = await roster.my_shifts(person.services, day_from=day_from, day_to=day_to)
    shifts = ordered((shift_view(r, local, moment) for r in rows), When.UPCOMING)
    choices = [s for s in shifts if swappable(s)]
    return render(request, "member/swap_new.html", person, status_code=status_code, form=form, shifts=choices,
                  colleagues=colleagues(shifts, member_id(person)))


@router.get("/me/swaps/new")
async def new_swap(request: Request, person: Member) -> Response:
    picked = request.query_params.get("shift_id", "")
    return await _form_page(request, person, Form(fields=FIELDS, values={"shift_id": picked[:200]}))


@router.post("/me/swaps/new")
async def ask_swap(request: Request, person: Member) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    shift_id, to_member = form.value("shift_id").strip(), form.value("to_member_id").strip()
    if not shift_id:
        form.error("shift_id", translate("zh", "member.required_shift") + " (" +
                   translate("en", "member.required_shift") + ")")
        return await _form_page(request, person, form, status_code=422)
    try:
        await roster.request_swap(person.services, shift_id, to_member_id=to_member or None,
                                  note=form.value("note").strip())
    except ServiceRefused as refusal:
        # roster names body.to_member_id (a colleague who may not take it), shift_id (not theirs, started, one
        # pending already) or body.note; anything else goes above the form with the detail
        return await _form_page(request, person, form.refused(refusal), status_code=refusal.status)
    return RedirectResponse("/me/swaps?done=sent", status_code=303)


@router.post("/me/swaps/{request_id}/withdrawal")
async def withdraw(request: Request, person: Member, request_id: RequestId) -> Response:
    try:
        await roster.withdraw_swap(person.services, request_id)
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _list_with_refusal(request, person, refusal)
    return RedirectResponse("/me/swaps?done=withdrawn", status_code=303)


async def _list_with_refusal(request: Request, person: Member, refusal: ServiceRefused) -> Response:
    """The list again with why the request could not be withdrawn (decided meanwhile) at the top."""
    problem = Form(fields=()).refused(refusal)
    return await REQUESTS.respond(request, _requests(request, person), lambda view: render(
        request, "member/swaps.html", person, table=view, me=member_id(person), notice=None, problem=problem,
        status_code=refusal.status))
