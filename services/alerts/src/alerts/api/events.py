"""The events API for outside systems (the grid platform, 网格化管理平台): the same alert signal sources publish
on Kafka (``AlertSignalV1``), sent over HTTP with an integration token (admins may too).

The sender's namespace is its token's subject: a token with subject ``grid`` triggers and resolves ``grid:…``
keys only, and uses no platform service's kinds (``domain.provenance``): 422 naming ``body.dedup_key`` or
``body.kind``. A token whose subject is a platform service's name (``inspection`` …) is refused with 403.

Signals of one HTTP caller are ordered by the ``sequence`` in the body (1, 2, 3 … per dedup key); a repeated or
older one changes nothing, a resolve that overtook its trigger wins. Without a sequence a signal is applied as it
comes. The answer says what the signal did (``effect``) and which alert it concerns.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts.api.common import DedupKey, Moment, SequenceNumber, Text50, Text100, Text200, Text500, UnitId, Url
from alerts.context import Context
from alerts.domain.provenance import SignalRefused, http_source
from alerts.signals import apply_signal
from pingan_shared.auth import Principal, Role
from pingan_shared.directory.doors import place_code
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.http.security import require_roles

router = APIRouter(prefix="/v1", tags=["events"])

Sender = Annotated[Principal, Depends(require_roles(Role.INTEGRATION, Role.ADMIN))]


class SourceIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: Text50
    entity_type: Text50
    entity_id: Text200
    url: Url | None = None


class SignalIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["trigger", "resolve"]
    dedup_key: DedupKey = Field(description="one open alert per key, e.g. grid:event:20260301-0042")
    kind: Text100 = Field(description="selects the escalation policy")
    severity: Literal["info", "low", "medium", "high", "critical"] = "medium"
    unit_id: UnitId | None = Field(default=None, description="the responsible unit's organisation code")
    area: Text200 | None = Field(default=None, description="where exactly, in words")
    place: UnitId | None = Field(default=None, description=(
        "the place it is about: a directory code, or a place's unique name (塘下镇); 422 for one the directory "
        "does not hold. Scopes, silences and ladders address alerts by their place"))
    place_name: Text200 | None = None
    unit_name: Text200 | None = None
    summary: Text500 = Field(description="one line in Chinese for the supervisor")
    people: list[Text200] = Field(default_factory=list, max_length=200, description=(
        "the token subjects the alert is addressed to, each reached as the contact person:<subject> where its "
        "ladder names {people}; a later trigger naming more people tells the new ones only"))
    source: SourceIn
    occurred_at: Moment
    sequence: SequenceNumber | None = Field(default=None, description="the sender's per-key sequence")


@router.post("/events", status_code=202)
async def post_signal(body: SignalIn, ctx: Context, principal: Sender) -> JSONResponse:
    source = http_source(principal.subject)  # SignalRefused (403 naming Authorization) is the answer
    try:
        async with ctx.runtime.connection() as conn, conn.transaction():
            signal = AlertSignalV1(
                action=SignalAction(body.action), dedup_key=body.dedup_key, kind=body.kind,
                severity=Severity(body.severity), unit_id=body.unit_id, area=body.area,
                place=await place_code(conn, body.place, field="body.place"), place_name=body.place_name,
                unit_name=body.unit_name, summary=body.summary, people=body.people,
                source=SourceLink(**body.source.model_dump()), occurred_at=body.occurred_at, sequence=body.sequence)
            outcome = await apply_signal(conn, ctx, signal, source=source, producer=f"http:{principal.subject}",
                                         sequence=body.sequence, now=ctx.now())
    except SignalRefused as refused:
        # The domain names the signal's field; over HTTP it is a field of the body.
        raise SignalRefused(refused.status, refused.detail, f"body.{refused.field}") from refused
    content: dict[str, Any] = {"effect": outcome.effect, "applied": outcome.applied, "alert_id": outcome.alert_id,
                               "status": outcome.status}
    return JSONResponse(status_code=202, content=content)
