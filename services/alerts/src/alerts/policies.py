"""Escalation policies: chosen per alert kind and scope, managed by admins, validated before they are stored.

Validation (besides the request model's own: at least one step, each with a target and a channel): every
target must be a ``person:``/``unit:``/``role:`` id, placeholders only ``domain.policy.PLACEHOLDERS``, a multi-ack
step needs its reminder interval (``ack_timeout_seconds``), and a concrete target must reach someone on one of its
step's channels (the contacts directory, ``alerts.delivery.directory.unreachable_targets``).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from fastapi.encoders import jsonable_encoder

from alerts.context import AlertsContext
from alerts.delivery.directory import unreachable_targets
from alerts.domain.policy import (
    FOREVER,
    PLACEHOLDERS,
    Policy,
    Step,
    builtin_for,
    placeholders_in,
    steps_of,
    unknown_placeholders,
)
from alerts.domain.provenance import builtin_applies
from alerts.places import canonical_target
from alerts.store import policies as store
from pingan_shared.refused import Conflict, Invalid, NotFound

NO_POLICY_ID = "none"
CLASH = "该告警类型与范围已有升级策略（a policy for this kind and scope exists）"


class PolicyInvalid(Invalid):
    """A policy's step breaks a rule (422 naming the field, e.g. ``body.steps.1.targets.0``)."""


class PolicyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("升级策略不存在", "policy_id")


class PolicyClash(Conflict):
    """Another policy has this kind and scope (409 naming ``body.kind``)."""

    def __init__(self) -> None:
        super().__init__(CLASH, "body.kind")


async def policy_for(conn: asyncpg.Connection, *, kind: str, unit_id: str | None, area: str | None,
                     township: str | None, source: str) -> Policy:
    """The policy an alert ``source`` raised is under: the most specific stored one, else the built-in ladder of
    its kind when that kind is the source's own, else none (an alert that leads nowhere, which the auditor
    reports)."""
    row = await store.best_for(conn, kind=kind, unit_id=unit_id, area=area)
    if row is not None:
        return as_policy(row)
    builtin = builtin_for(kind, township=township) if builtin_applies(kind, source) else None
    return builtin or Policy(id=NO_POLICY_ID, name="无升级策略", steps=())


def as_policy(row: asyncpg.Record) -> Policy:
    return Policy(id=row["id"], name=row["name"], steps=steps_of(row["steps"]), repeat=row["repeat"])


async def validate(conn: asyncpg.Connection, steps: Sequence[Step]) -> None:
    """Raise ``PolicyInvalid`` naming the first field at fault."""
    for i, step in enumerate(steps):
        where = f"body.steps.{i}"
        if step.requires_all_acks and step.ack_timeout_seconds is None:
            raise PolicyInvalid("需逐一确认的步骤须设提醒间隔（a multi-ack step needs ack_timeout_seconds）",
                                f"{where}.ack_timeout_seconds")
        for j, target in enumerate(step.targets):
            unknown = unknown_placeholders(target)
            if unknown:
                raise PolicyInvalid(f"未知占位符 {unknown}（only {', '.join(PLACEHOLDERS)} may be filled in）",
                                    f"{where}.targets.{j}")
        concrete = [t for t in step.targets if not placeholders_in(t)]
        for target in await _unreachable(conn, concrete, step.channels):
            j = step.targets.index(target)
            raise PolicyInvalid(f"通知对象 {target} 在所选渠道上无人可达（unreachable on {', '.join(step.channels)}）",
                                f"{where}.targets.{j}")


async def canonical_steps(conn: asyncpg.Connection, steps: Sequence[Step]) -> list[Step]:
    """The steps with each target naming a place or an organisation by its directory code (``places``)."""
    return [dataclasses.replace(step, targets=tuple([await canonical_target(conn, t) for t in step.targets]))
            for step in steps]


async def _unreachable(conn: asyncpg.Connection, targets: list[str], channels: Sequence[str]) -> list[str]:
    """The contacts directory's answer. While its tables do not exist yet (a database migrated before the
    delivery side's migration), well-formed ids count as reachable: they were checked for shape already."""
    if not targets:
        return []
    try:
        async with conn.transaction():
            return await unreachable_targets(conn, targets, channels)
    except asyncpg.UndefinedTableError:
        return []


def new_policy_id() -> str:
    return f"pol-{uuid.uuid4().hex[:12]}"


def policy_view(row: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = jsonable_encoder({
        "id": row["id"], "name": row["name"], "kind": row["kind"], "scope_unit": row["scope_unit"],
        "scope_area": row["scope_area"], "steps": row["steps"],
        "repeat": "forever" if row["repeat"] == FOREVER else row["repeat"], "created_by": row["created_by"],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    })
    return view


async def create(ctx: AlertsContext, *, name: str, kind: str, scope_unit: str | None, scope_area: str | None,
                 steps: Sequence[Step], repeat: int, by: str) -> dict[str, Any]:
    """The stored policy, validated (``PolicyInvalid``); ``PolicyClash`` when one exists for the kind and scope."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        steps = await canonical_steps(conn, steps)
        await validate(conn, steps)
        row = await store.insert(conn, policy_id=new_policy_id(), name=name, kind=kind, scope_unit=scope_unit,
                                 scope_area=scope_area, steps=[s.as_json() for s in steps], repeat=repeat, by=by,
                                 at=ctx.now())
    if row is None:
        raise PolicyClash()
    return policy_view(row)


async def listing(ctx: AlertsContext, *, kind: str | None) -> list[dict[str, Any]]:
    async with ctx.runtime.connection() as conn:
        return [policy_view(r) for r in await store.listing(conn, kind=kind)]


async def get(ctx: AlertsContext, policy_id: str) -> dict[str, Any]:
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, policy_id)
    if row is None:
        raise PolicyNotFound()
    return policy_view(row)


async def replace(ctx: AlertsContext, policy_id: str, *, name: str, kind: str, scope_unit: str | None,
                  scope_area: str | None, steps: Sequence[Step], repeat: int) -> dict[str, Any]:
    """Alerts already raised keep the copy frozen onto them; new alerts get this."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        if await store.get(conn, policy_id) is None:
            raise PolicyNotFound()
        if await store.clashes(conn, policy_id, kind=kind, scope_unit=scope_unit, scope_area=scope_area):
            raise PolicyClash()
        steps = await canonical_steps(conn, steps)
        await validate(conn, steps)
        row = await store.replace(conn, policy_id, name=name, kind=kind, scope_unit=scope_unit,
                                  scope_area=scope_area, steps=[s.as_json() for s in steps], repeat=repeat,
                                  at=ctx.now())
    assert row is not None
    return policy_view(row)


async def delete(ctx: AlertsContext, policy_id: str) -> None:
    async with ctx.runtime.connection() as conn:
        if not await store.delete(conn, policy_id):
            raise PolicyNotFound()
