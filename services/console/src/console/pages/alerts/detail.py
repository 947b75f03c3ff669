"""One alert: where it stands on its ladder (the step it reached, who was told, when the next step is due, on a
multi-ack step who has and who has not acknowledged) and its timeline; acknowledging (each official for themselves
on a multi-ack step), resolving with a reason, escalating now.

What the page shows is the alerts service's answer for the signed-in person: an alert outside their scope is a 404
there and here alike. A refused change (a resolved alert, a person who does not answer for a multi-ack step) is
shown on the page with the service's words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.pages.alerts.common import (
    CHANNEL_LABELS,
    OUTCOME_LABELS,
    SERVICE,
    SEVERITY_LABELS,
    STATUS_LABELS,
    TIMELINE_LABELS,
    AlertId,
    Manager,
    Reader,
    duration,
    label_of,
    local,
    zone_of,
)
from console.pages.alerts.live import WATCHERS
from console.services import ServiceRefused
from console.web.forms import Form
from console.web.i18n import pick
from console.web.pages import Person, render
from pingan_shared.auth import Role

router = APIRouter(include_in_schema=False)

NOTICES = {"acknowledged": "alerts.acknowledged", "partial": "alerts.ack_partial", "resolved": "alerts.resolved",
           "escalated": "alerts.escalated"}
TOLD = ("sent", "delivered")


def ladder(alert: Mapping[str, Any], timeline: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The frozen ladder's steps, each with whether the alert stands there and whom deliveries reached."""
    told: dict[int, list[Mapping[str, Any]]] = {}
    for entry in timeline:
        detail = entry.get("detail") or {}
        if entry.get("kind") == "delivery-attempt" and detail.get("outcome") in TOLD:
            told.setdefault(int(detail.get("step") or 0), []).append({**detail, "at": entry.get("at")})
    current = alert.get("current_step")
    steps = []
    for index, step in enumerate((alert.get("policy") or {}).get("steps") or []):
        seen: dict[tuple[str, str], Mapping[str, Any]] = {}
        for delivery in told.get(index, []):
            seen.setdefault((str(delivery.get("recipient")), str(delivery.get("channel"))), delivery)
        steps.append({**step, "index": index, "number": index + 1, "current": index == current,
                      "reached": current is not None and index <= current, "told": list(seen.values())})
    return steps


def acknowledgements(alert: Mapping[str, Any], timeline: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Who acknowledged the step the alert stands at, in this climb, and for which targets."""
    return [dict(entry.get("detail") or {}, at=entry.get("at")) for entry in timeline
            if entry.get("kind") == "acknowledged" and (entry.get("detail") or {}).get("step") == alert.get(
                "current_step") and (entry.get("detail") or {}).get("loop") == alert.get("loop")]


def timeline_text(entry: Mapping[str, Any], lang: str) -> str:
    """One timeline entry's detail in words."""
    d: Mapping[str, Any] = entry.get("detail") or {}
    kind = entry.get("kind")
    join = "、".join
    if kind == "raised":
        return f"{d.get('summary', '')} · {d.get('source') or ''} {d.get('policy_name') or ''}".strip(" ·")
    if kind == "step":
        return f"{d.get('label', '')} → {join(d.get('targets') or [])}"
    if kind in ("notified", "held"):
        channels = join(label_of(CHANNEL_LABELS, c, lang) for c in d.get("channels") or [])
        return f"{d.get('label', '')} → {join(d.get('targets') or [])} {channels}".strip()
    if kind == "acknowledged":
        waiting = d.get("waiting_for") or []
        rest = f" · {pick(lang, '仍待', 'still waiting for')} {join(waiting)}" if waiting else ""
        return f"{d.get('by', '')} {join(d.get('targets') or [])}{rest}".strip()
    if kind in ("delivery-attempt", "delivery-failed", "delivery-resent"):
        outcome = label_of(OUTCOME_LABELS, d.get("outcome"), lang)
        reason = f" · {d['reason']}" if d.get("reason") else ""
        return (f"{d.get('recipient', '')} {label_of(CHANNEL_LABELS, d.get('channel'), lang)} {outcome}"
                f"{reason}").strip()
    if kind == "resolved":
        return f"{d.get('by', '')} {d.get('reason') or ''}".strip()
    if kind == "reminder":
        return f"{d.get('label', '')} → {join(d.get('waiting_for') or [])}"
    return " ".join(f"{k}={v}" for k, v in d.items() if not isinstance(v, dict | list))


async def _page(request: Request, person: Person, alert_id: str, *, resolve_form: Form | None = None,
                problem: str | None = None, status_code: int = 200) -> Response:
    alert, timeline = await asyncio.gather(
        person.services.get(SERVICE, f"/v1/alerts/{alert_id}"),
        person.services.get(SERVICE, f"/v1/alerts/{alert_id}/timeline"))
    zone = zone_of(request)
    entries = [{**e, "at_local": local(e.get("at"), zone)} for e in timeline]
    return render(
        request, "alerts/detail.html", person, status_code=status_code, alert=alert, timeline=entries,
        steps=ladder(alert, timeline), acks=acknowledgements(alert, entries), zone=zone,
        may_manage=person.role in (Role.SUPERVISOR, Role.ADMIN), live=person.role in WATCHERS,
        resolve_form=resolve_form or Form(fields=("reason",)), problem=problem,
        notice=NOTICES.get(request.query_params.get("done", "")), timeline_text=timeline_text,
        label_of=label_of, duration=duration, local=lambda value: local(value, zone),
        labels={"status": STATUS_LABELS, "severity": SEVERITY_LABELS, "channel": CHANNEL_LABELS,
                "timeline": TIMELINE_LABELS})


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, person: Reader, alert_id: AlertId) -> Response:
    return await _page(request, person, alert_id)


@router.post("/alerts/{alert_id}/acknowledgement")
async def acknowledge(request: Request, person: Reader, alert_id: AlertId) -> Response:
    try:
        alert = await person.services.post(SERVICE, f"/v1/alerts/{alert_id}/acknowledgement")
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, alert_id, problem=refusal.detail, status_code=refusal.status)
    done = "partial" if alert.get("waiting_for_acks") else "acknowledged"
    return RedirectResponse(f"/alerts/{alert_id}?done={done}", status_code=303)


@router.post("/alerts/{alert_id}/resolution")
async def resolve(request: Request, person: Manager, alert_id: AlertId) -> Response:
    form = Form.from_request_values(await request.form(), ("reason",))
    try:
        await person.services.post(SERVICE, f"/v1/alerts/{alert_id}/resolution",
                                   json={"reason": form.value("reason").strip()})
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, alert_id, resolve_form=form.refused(refusal), status_code=refusal.status)
    return RedirectResponse(f"/alerts/{alert_id}?done=resolved", status_code=303)


@router.post("/alerts/{alert_id}/escalation")
async def escalate(request: Request, person: Manager, alert_id: AlertId) -> Response:
    try:
        await person.services.post(SERVICE, f"/v1/alerts/{alert_id}/escalation", json={})
    except ServiceRefused as refusal:
        if refusal.status == 404:
            raise
        return await _page(request, person, alert_id, problem=refusal.detail, status_code=refusal.status)
    return RedirectResponse(f"/alerts/{alert_id}?done=escalated", status_code=303)
