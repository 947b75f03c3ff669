"""Recording a finding during a cycle's covert phase (暗访), against a township, a department or both.

Nothing is published and nothing unit-facing changes: the finding waits, sealed, for the release. The
cycle's row is read FOR SHARE so a finding either commits before the release takes the cycle (and is
released with it) or sees the phase over (409).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg

from inspection.domain.findings import FindingIn
from inspection.store import cycles as cycle_store
from inspection.store import findings as store
from inspection.store import units as unit_store
from pingan_shared.auth import Principal
from pingan_shared.refused import Refused


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"


class FindingRefused(Refused):
    """A finding the use case will not record."""


@dataclass(frozen=True)
class Recorded:
    finding: asyncpg.Record
    outcome: Outcome


_KIND_FIELDS = (("township_unit_id", "township", "镇街"), ("department_unit_id", "department", "部门"))


async def record(conn: asyncpg.Connection, finding: FindingIn, *, principal: Principal, now: datetime) -> Recorded:
    """Store ``finding`` (inside the caller's transaction) or say why not (``FindingRefused``)."""
    finding_id = finding.id or f"F-{uuid.uuid4().hex[:16]}"
    digest = finding.fingerprint()
    existing = await store.get(conn, finding_id)
    if existing is not None:
        if existing["fingerprint"] == digest and existing["recorded_by"] == principal.subject:
            return Recorded(existing, Outcome.UNCHANGED)
        raise FindingRefused(409, "该编号已用于内容不同的发现 (a different finding already has this id)", "id")
    cycle = await cycle_store.get(conn, finding.cycle_id, for_share=True)
    if cycle is None:
        raise FindingRefused(404, "周期不存在 (no such cycle)", "cycle_id")
    if cycle["phase"] != "covert" or not cycle["starts_at"] <= now < cycle["covert_ends_at"]:
        when = "尚未开始 (has not started)" if now < cycle["starts_at"] else "已结束 (is over)"
        raise FindingRefused(409, f"该周期的暗访阶段{when}", "cycle_id")
    units = await unit_store.many(conn, finding.unit_ids())
    in_scope = await cycle_store.in_scope(conn, cycle["id"], finding.unit_ids())
    for field, kind, label in _KIND_FIELDS:
        unit_id = getattr(finding, field)
        if unit_id is None:
            continue
        if unit_id not in units:
            raise FindingRefused(422, f"单位 {unit_id} 不存在 (no such unit)", field)
        if units[unit_id]["kind"] != kind:
            raise FindingRefused(422, f"{units[unit_id]['name']} 不是{label} (not a {kind})", field)
        if unit_id not in in_scope:
            raise FindingRefused(422, f"{units[unit_id]['name']} 不在本周期范围内 (not in the cycle's scope)", field)
    values: dict[str, Any] = {
        "id": finding_id, "cycle_id": finding.cycle_id, "township_unit_id": finding.township_unit_id,
        "department_unit_id": finding.department_unit_id, "category": finding.category.value,
        "severity": finding.severity.value, "hazard_key": finding.effective_hazard_key(), "place": finding.place,
        "latitude": finding.latitude, "longitude": finding.longitude, "description": finding.description,
        "evidence": list(finding.evidence), "recorded_by": principal.subject,
        "recorded_role": principal.role.value, "recorded_at": now, "fingerprint": digest,
    }
    if not await store.insert(conn, values):
        raise FindingRefused(409, "该编号已被同时使用 (the id was used concurrently)", "id")
    row = await store.get(conn, finding_id)
    assert row is not None
    return Recorded(row, Outcome.CREATED)
