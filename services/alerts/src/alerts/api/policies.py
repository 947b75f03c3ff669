"""Escalation policies, managed by admins: one per alert kind and scope (unit and/or area), validated.

Refusals name the field: a step without targets or channels (``body.steps.1.channels``), a target that reaches
nobody on its step's channels (``body.steps.2.targets.0``), a multi-ack step without its reminder interval.
``GET /v1/builtin-policies`` shows the built-in ladders (211, patrol, roster) used when no stored policy matches.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.encoders import jsonable_encoder
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
from alerts.store import policies as store
from pingan_shared.auth import Principal, Role
from pingan_shared.http.errors import ApiError
from pingan_shared.http.openapi import error_responses
from pingan_shared.http.security import require_roles
from pingan_shared.text import StorableStr

router = APIRouter(prefix="/v1", tags=["policies"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
PolicyId = Annotated[StorableStr, Path(max_length=64)]
NOT_FOUND = "升级策略不存在"
CLASH = "该告警类型与范围已有升级策略（a policy for this kind and scope exists）"

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


def policy_view(row: asyncpg.Record) -> dict[str, Any]:
    return jsonable_encoder({
        "id": row["id"], "name": row["name"], "kind": row["kind"], "scope_unit": row["scope_unit"],
        "scope_area": row["scope_area"], "steps": row["steps"],
        "repeat": "forever" if row["repeat"] == FOREVER else row["repeat"], "created_by": row["created_by"],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    })


async def _validated(conn: asyncpg.Connection, steps: list[Step]) -> None:
    try:
        await policies.validate(conn, steps)
    except policies.PolicyInvalid as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None


@router.post("/policies", status_code=201, responses=error_responses(409))
async def create_policy(body: PolicyIn, ctx: Context, principal: Admin) -> JSONResponse:
    repeat = body.repeat_count()
    steps = [s.as_step() for s in body.steps]
    async with ctx.runtime.connection() as conn, conn.transaction():
        await _validated(conn, steps)
        row = await store.insert(conn, policy_id=policies.new_policy_id(), name=body.name, kind=body.kind,
                                 scope_unit=body.scope_unit, scope_area=body.scope_area,
                                 steps=[s.as_json() for s in steps], repeat=repeat, by=by(principal), at=ctx.now())
    if row is None:
        raise ApiError(409, CLASH, field="body.kind")
    return JSONResponse(status_code=201, content=policy_view(row))


@router.get("/policies")
async def list_policies(ctx: Context, _: Admin,
                        kind: Annotated[StorableStr | None, Query(max_length=100)] = None) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        return [policy_view(r) for r in await store.listing(conn, kind=kind)]


@router.get("/builtin-policies")
async def builtin_policies(_: Admin) -> list[dict[str, Any]]:
    """The built-in ladders, by alert kind: used when no stored policy matches an alert."""
    return [{"kind": kind, **policy.as_json()} for kind, policy in BUILTIN_POLICIES.items()]


@router.get("/policies/{policy_id}")
async def get_policy(policy_id: PolicyId, ctx: Context, _: Admin) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, policy_id)
    if row is None:
        raise ApiError(404, NOT_FOUND, field="policy_id")
    return policy_view(row)


@router.put("/policies/{policy_id}", responses=error_responses(409))
async def replace_policy(policy_id: PolicyId, body: PolicyIn, ctx: Context, _: Admin) -> dict[str, Any]:
    """Alerts already raised keep the copy frozen onto them; new alerts get this."""
    repeat = body.repeat_count()
    steps = [s.as_step() for s in body.steps]
    async with ctx.runtime.connection() as conn, conn.transaction():
        if await store.get(conn, policy_id) is None:
            raise ApiError(404, NOT_FOUND, field="policy_id")
        if await store.clashes(conn, policy_id, kind=body.kind, scope_unit=body.scope_unit,
                               scope_area=body.scope_area):
            raise ApiError(409, CLASH, field="body.kind")
        await _validated(conn, steps)
        row = await store.replace(conn, policy_id, name=body.name, kind=body.kind, scope_unit=body.scope_unit,
                                  scope_area=body.scope_area, steps=[s.as_json() for s in steps], repeat=repeat,
                                  at=ctx.now())
    assert row is not None
    return policy_view(row)


@router.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: PolicyId, ctx: Context, _: Admin) -> Response:
    async with ctx.runtime.connection() as conn:
        if not await store.delete(conn, policy_id):
            raise ApiError(404, NOT_FOUND, field="policy_id")
    return Response(status_code=204)
