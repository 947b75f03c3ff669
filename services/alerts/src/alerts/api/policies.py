"""Escalation policies, managed by admins: one per alert kind and scope (unit and/or area), validated.

Refusals name the field: a step without targets or channels (``body.steps.1.channels``), a target that reaches
nobody on its step's channels (``body.steps.2.targets.0``), a multi-ack step without its reminder interval.
``GET /v1/builtin-policies`` shows the built-in ladders (211, patrol, roster) used when no stored policy matches.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from alerts import policies
from alerts.api.common import (
    AckTimeoutSeconds,
    DelaySeconds,
    JsonBool,
    Label,
    RepeatCount,
    Target,
    Text100,
    Text200,
    UnitId,
    by,
)
from alerts.context import Context
from alerts.domain.policy import BUILTIN_POLICIES, FOREVER, Step
from pingan_shared.auth import Principal, Role
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["policies"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
PolicyId = Annotated[StorableStr, Path(max_length=64)]

Channel = Literal["webhook", "email", "inbox", "stream"]


class StepIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    delay_seconds: DelaySeconds = Field(description="after the step before (the first: the raise)")
    targets: list[Target] = Field(min_length=1, max_length=50)
    channels: list[Channel] = Field(min_length=1, max_length=4)
    label: Label = Field(description="e.g. 通报, 挂牌督办, 约谈, 问责")
    requires_all_acks: JsonBool = Field(default=False, description="every target must acknowledge (约谈)")
    ack_timeout_seconds: AckTimeoutSeconds | None = Field(default=None, description=(
        "an acknowledgement lapses after this and the climb resumes; for a multi-ack step (required there): "
        "the reminder interval"))

    def as_step(self) -> Step:
        return Step(delay_seconds=self.delay_seconds, targets=tuple(dict.fromkeys(self.targets)),
                    channels=tuple(dict.fromkeys(self.channels)), label=self.label,
                    requires_all_acks=self.requires_all_acks, ack_timeout_seconds=self.ack_timeout_seconds)


class PolicyIn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text100
    kind: Text100 = Field(description="the alert kind, e.g. inspection.task-overdue")
    scope_unit: UnitId | None = None
    scope_area: Text200 | None = None
    steps: list[StepIn] = Field(min_length=1, max_length=20)
    repeat: RepeatCount | Literal["forever"] = Field(
        default=0, description="extra climbs after the first (0-100), or forever")

    def repeat_count(self) -> int:
        return FOREVER if self.repeat == "forever" else int(self.repeat)


@router.post("/policies", status_code=201, responses=error_responses(409))
async def create_policy(body: PolicyIn, ctx: Context, principal: Admin) -> JSONResponse:
    view = await policies.create(ctx, name=body.name, kind=body.kind, scope_unit=body.scope_unit,
                                 scope_area=body.scope_area, steps=[s.as_step() for s in body.steps],
                                 repeat=body.repeat_count(), by=by(principal))
    return JSONResponse(status_code=201, content=view)


@router.get("/policies")
async def list_policies(ctx: Context, _: Admin,
                        kind: Annotated[StorableStr | None, Query(max_length=100)] = None) -> list[dict[str, Any]]:
    return await policies.listing(ctx, kind=kind)


@router.get("/builtin-policies")
async def builtin_policies(_: Admin) -> list[dict[str, Any]]:
    """The built-in ladders, by alert kind: used when no stored policy matches an alert."""
    return [{"kind": kind, **policy.as_json()} for kind, policy in BUILTIN_POLICIES.items()]


@router.get("/policies/{policy_id}")
async def get_policy(policy_id: PolicyId, ctx: Context, _: Admin) -> dict[str, Any]:
    return await policies.get(ctx, policy_id)


@router.put("/policies/{policy_id}", responses=error_responses(409))
async def replace_policy(policy_id: PolicyId, body: PolicyIn, ctx: Context, _: Admin) -> dict[str, Any]:
    """Alerts already raised keep the copy frozen onto them; new alerts get this."""
    return await policies.replace(ctx, policy_id, name=body.name, kind=body.kind, scope_unit=body.scope_unit,
                                  scope_area=body.scope_area, steps=[s.as_step() for s in body.steps],
                                  repeat=body.repeat_count())


@router.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: PolicyId, ctx: Context, _: Admin) -> Response:
    await policies.delete(ctx, policy_id)
    return Response(status_code=204)
