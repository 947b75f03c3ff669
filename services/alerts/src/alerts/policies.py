"""Escalation policies: chosen per alert kind and scope, managed by admins, validated before they are stored.

Validation (besides the request model's own: at least one step, each with a target and a channel): every
target must be a ``person:``/``unit:``/``role:`` id, placeholders only ``{unit}``/``{area}``, a multi-ack step
needs its reminder interval (``ack_timeout_seconds``), and a concrete target must reach someone on one of its
step's channels (the contacts directory, ``alerts.delivery.directory.unreachable_targets``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from alerts.delivery.directory import unreachable_targets
from alerts.domain.policy import Policy, Step, builtin_for, placeholders_in, steps_of, unknown_placeholders
from alerts.domain.provenance import builtin_applies
from alerts.store import policies as store

NO_POLICY_ID = "none"


@dataclass(frozen=True)
class PolicyInvalid(Exception):
    field: str
    reason: str


async def policy_for(conn: asyncpg.Connection, *, kind: str, unit_id: str | None, area: str | None,
                     source: str) -> Policy:
    """The policy an alert ``source`` raised is under: the most specific stored one, else the built-in ladder of
    its kind when that kind is the source's own, else none (an alert that leads nowhere, which the auditor
    reports)."""
    row = await store.best_for(conn, kind=kind, unit_id=unit_id, area=area)
    if row is not None:
        return as_policy(row)
    builtin = builtin_for(kind, area=area) if builtin_applies(kind, source) else None
    return builtin or Policy(id=NO_POLICY_ID, name="无升级策略", steps=())


def as_policy(row: asyncpg.Record) -> Policy:
    return Policy(id=row["id"], name=row["name"], steps=steps_of(row["steps"]), repeat=row["repeat"])


async def validate(conn: asyncpg.Connection, steps: Sequence[Step]) -> None:
    """Raise ``PolicyInvalid`` naming the first field at fault."""
    for i, step in enumerate(steps):
        where = f"body.steps.{i}"
        if step.requires_all_acks and step.ack_timeout_seconds is None:
            raise PolicyInvalid(f"{where}.ack_timeout_seconds",
                                "需逐一确认的步骤须设提醒间隔（a multi-ack step needs ack_timeout_seconds）")
        for j, target in enumerate(step.targets):
            unknown = unknown_placeholders(target)
            if unknown:
                raise PolicyInvalid(f"{where}.targets.{j}",
                                    f"未知占位符 {unknown}（only {{unit}} and {{area}} may be filled in）")
        concrete = [t for t in step.targets if not placeholders_in(t)]
        for target in await _unreachable(conn, concrete, step.channels):
            j = step.targets.index(target)
            raise PolicyInvalid(f"{where}.targets.{j}",
                                f"通知对象 {target} 在所选渠道上无人可达（unreachable on {', '.join(step.channels)}）")


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


async def create(conn: asyncpg.Connection, *, name: str, kind: str, scope_unit: str | None, scope_area: str | None,
                 steps: Sequence[Step], repeat: int, by: str, now: datetime) -> asyncpg.Record | None:
    """The stored policy, or None when one exists already for the kind and scope."""
    await validate(conn, steps)
    return await store.insert(conn, policy_id=new_policy_id(), name=name, kind=kind, scope_unit=scope_unit,
                              scope_area=scope_area, steps=[s.as_json() for s in steps], repeat=repeat, by=by, at=now)
