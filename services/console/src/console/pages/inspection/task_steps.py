"""The steps a task's page offers: the unit's rectification (整改, with photos), the inspector's revisit (回访:
verify, or reject with what remains, with photos), listing for supervision (挂牌督办: a date or a number of
days) and assigning a triage task (a patrol hazard naming no known unit) to a unit (分流交办). Each posts to the
inspection service as the person; a refusal shows the task again with the reasons by the fields they name and what
was typed (and uploaded) kept; a success redirects back with a one-line notice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.inspection.common import Staff
from console.pages.inspection.tasks import ASSIGN_FIELDS, LISTING_FIELDS, RECTIFY_FIELDS, REVISIT_FIELDS, task_page
from console.pages.inspection.uploads import PHOTOS_FIELD, receive_photos, segment
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.pages import Person, console, require
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)
Unit = Annotated[Person, Depends(require(Role.UNIT))]

EVIDENCE_FIELDS = {"body.evidence": PHOTOS_FIELD, "evidence": PHOTOS_FIELD}


def _done(task_id: str, what: str) -> Response:
    return RedirectResponse(f"/inspection/tasks/{segment(task_id)}?done={what}", status_code=303)


async def _post(person: Person, task_id: str, method: str, step: str, body: dict[str, Any]) -> None:
    await person.services.request(method, "inspection", f"/v1/tasks/{segment(task_id)}/{step}", json=body)


@router.post("/inspection/tasks/{task_id}/rectification")
async def rectify(request: Request, person: Unit, task_id: str) -> Response:
    submitted = await request.form()
    form = Form.from_request_values(submitted, RECTIFY_FIELDS)
    upload = await receive_photos(console(request), person, submitted)
    for reason in upload.refusals:
        form.error(PHOTOS_FIELD, reason)
    if not form.failed:
        try:
            await _post(person, task_id, "POST", "rectifications",
                        {"text": form.value("text"), "evidence": upload.references})
            return _done(task_id, "submitted")
        except ServiceRefused as refusal:
            if refusal.status == 404:
                raise
            form.refused(refusal, EVIDENCE_FIELDS)
    return await task_page(request, person, task_id, rectify=form, kept=upload.references, status_code=422)


@router.post("/inspection/tasks/{task_id}/revisit")
async def revisit(request: Request, person: Staff, task_id: str) -> Response:
    submitted = await request.form()
    form = Form.from_request_values(submitted, REVISIT_FIELDS)
    upload = await receive_photos(console(request), person, submitted)
    for reason in upload.refusals:
        form.error(PHOTOS_FIELD, reason)
    if not form.failed:
        body = {"outcome": form.value("outcome"), "evidence": upload.references}
        if form.value("outcome") == "rejected":
            body["remaining"] = form.value("remaining")
        try:
            await _post(person, task_id, "POST", "revisits", body)
            return _done(task_id, "revisited")
        except ServiceRefused as refusal:
            if refusal.status == 404:
                raise
            form.refused(refusal, {**EVIDENCE_FIELDS, "body": "remaining"})
    return await task_page(request, person, task_id, revisit=form, kept=upload.references, status_code=422)


@router.post("/inspection/tasks/{task_id}/listing")
async def list_for_supervision(request: Request, person: Staff, task_id: str) -> Response:
    form = Form.from_request_values(await request.form(), LISTING_FIELDS)
    body: dict[str, Any] = {"note": form.value("note")}
    days = form.value("days").strip()
    if form.value("deadline"):
        body["deadline"] = form.value("deadline")
    if days:
        if not days.isdigit():
            form.error("days", "请填写天数（整数） (a whole number of days)")
            return await task_page(request, person, task_id, listing=form, status_code=422)
        body["days"] = int(days)
    try:
        await _post(person, task_id, "PUT", "listing", body)
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await task_page(request, person, task_id, listing=form.refused(refusal, {"body": "deadline"}),
                               status_code=refusal.status)
    return _done(task_id, "listed")


@router.post("/inspection/tasks/{task_id}/assignment")
async def assign(request: Request, person: Staff, task_id: str) -> Response:
    form = Form.from_request_values(await request.form(), ASSIGN_FIELDS)
    try:
        await _post(person, task_id, "POST", "assignment", {"unit_id": form.value("unit_id")})
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await task_page(request, person, task_id, assign=form.refused(refusal), status_code=refusal.status)
    return _done(task_id, "assigned")
