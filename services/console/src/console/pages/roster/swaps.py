"""Swap requests members made for their published shifts: the list (filter by state or member, pages, CSV), and for
each pending one its shift and crew and a decision — approve (naming who takes the shift, when the member named
nobody) or refuse with a reason. roster checks an approval against the hard rules (rest, nights in a row, the
crew's make-up…); its refusal is shown by the field it names and the request stays pending."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.roster.common import SERVICE, SWAP_STATES, Organiser, RosterId, choices, labelled, seg
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import messages
from console.web.pages import Person, render
from console.web.tables import Column, Filter, Table, TableView

router = APIRouter(include_in_schema=False)

messages({
    "roster.swaps.title": ("调班申请", "Swap requests"),
    "roster.swaps.decide": ("审批", "Decision"),
    "roster.swaps.to_member": ("接班队员编号", "Member who takes the shift"),
    "roster.swaps.reason": ("理由（拒绝时必填）", "Reason (needed to refuse)"),
    "roster.swaps.approve": ("批准", "Approve"),
    "roster.swaps.refuse": ("拒绝", "Refuse"),
    "roster.swaps.crew": ("当前班组", "Crew now"),
    "roster.swaps.approved": ("已批准，班组已更新。", "Approved: the crew is changed."),
    "roster.swaps.refused": ("已拒绝该申请。", "Request refused."),
    "roster.swaps.none_pending": ("没有待处理的申请。", "No request is waiting."),
})

FIELDS = ("to_member_id", "reason", "decision")
NEED_REASON = "拒绝申请须填写理由 (give the reason for refusing)"
NOTICES = {"approved": "roster.swaps.approved", "refused": "roster.swaps.refused"}


def _when(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return str(value)[:16].replace("T", " ") if value else ""


SWAPS = Table(
    columns=[
        Column("request_id", "申请编号", "Request"),
        Column("shift_id", "班次", "Shift"),
        Column("from_member_id", "申请人", "From"),
        Column("to_member_id", "接班人", "To"),
        Column("note", "申请说明", "Note"),
        Column("status", "状态", "State", text=lambda row, lang: labelled(SWAP_STATES, row.get("status"), lang)),
        Column("requested_at", "申请时间 (UTC)", "Asked (UTC)", text=lambda row, lang: _when(row, "requested_at")),
        Column("decided_by", "审批人", "Decided by"),
        Column("decision_reason", "审批理由", "Reason"),
    ],
    filters=[Filter("status", "状态", "State", choices=choices(SWAP_STATES)),
             Filter("member_id", "队员编号", "Member id", max_length=64)],
    csv_name="swap-requests",
)


async def _shift(person: Person, shift_id: str) -> dict[str, Any] | None:
    try:
        shift: dict[str, Any] = await person.services.get(SERVICE, f"/v1/shifts/{seg(shift_id)}")
    except ServiceRefused:
        return None  # gone since: the decision's own answer will say so
    return shift


async def _list(request: Request, person: Person, forms: dict[str, Form] | None = None,
                status_code: int = 200) -> Response:
    shown = request.query_params.get("format") != "csv"  # a page shows each pending request's shift; a CSV not
    shifts: dict[str, dict[str, Any] | None] = {}

    async def fetch(params: dict[str, str]) -> Any:
        page = await person.services.get(SERVICE, "/v1/swap-requests", params=params)
        if shown:
            pending = [row["shift_id"] for row in page.get("items", []) if row.get("status") == "pending"]
            shifts.update(zip(pending, await asyncio.gather(*(_shift(person, s) for s in pending)), strict=True))
        return page

    def page(view: TableView) -> Response:
        pending = [row for row in view.rows if row.get("status") == "pending"]
        decisions = {row["request_id"]: (forms or {}).get(row["request_id"]) or Form(
            fields=FIELDS, values={"to_member_id": row.get("to_member_id") or ""}) for row in pending}
        return render(request, "roster/swaps.html", person, status_code=status_code, table=view,
                      pending=[(row, shifts.get(row["shift_id"])) for row in pending], decisions=decisions,
                      query=urlencode(view.filters), notice=NOTICES.get(request.query_params.get("done", "")))

    return await SWAPS.respond(request, fetch, page)


@router.get("/roster/swaps")
async def swap_list(request: Request, person: Organiser) -> Response:
    return await _list(request, person)


@router.post("/roster/swaps/{request_id}/decision")
async def decide(request: Request, person: Organiser, request_id: RosterId) -> Response:
    form = Form.from_request_values(await request.form(), FIELDS)
    decision = form.value("decision")
    body: dict[str, Any] = {"decision": decision, "reason": form.value("reason").strip()}
    if form.value("to_member_id").strip() and decision == "approve":
        body["to_member_id"] = form.value("to_member_id").strip()
    if decision == "refuse" and not body["reason"]:
        form.error("reason", NEED_REASON)
        return await _list(request, person, {request_id: form}, status_code=422)
    try:
        await person.services.post(SERVICE, f"/v1/swap-requests/{seg(request_id)}/decision", json=body)
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        refused = form.refused(refusal, {"request_id": "decision", "body.decision": "decision"})
        return await _list(request, person, {request_id: refused}, status_code=refusal.status)
    query = dict(request.query_params) | {"done": "approved" if decision == "approve" else "refused"}
    return RedirectResponse(f"/roster/swaps?{urlencode(query)}", status_code=303)
