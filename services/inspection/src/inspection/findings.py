"""Recording a finding during a cycle's covert phase (暗访), against a township, a department or both.

Nothing is published and nothing unit-facing changes: the finding waits, sealed, for the release. The
cycle's row is read FOR SHARE so a finding either commits before the release takes the cycle (and is
released with it) or sees the phase over (409).

The ``id`` a recorder gives is its key for the finding (``client_id``): the same request again is harmless, the
same key with other content a 409. Keys are per recorder. An inspector's or admin's key is also the finding's id
(they read every finding, so a key another of them took is a 409 that tells them nothing they could not read). A
supervision-group member sees only their own findings, so their key is theirs alone: the finding gets an id of its
own (``F-…``), and a key another recorder used is simply a new finding — never an answer that would tell the member
that a finding they may not see exists (DESIGN.md §6).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg

from inspection.context import InspectionContext
from inspection.domain.findings import FindingIn
from inspection.store import cycles as cycle_store
from inspection.store import findings as store
from inspection.store import units as unit_store
from inspection.store.findings import FindingRow
from pingan_shared.auth import Principal, Role
from pingan_shared.http.paging import Page, page_of
from pingan_shared.refused import NotFound, Refused


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"


class FindingRefused(Refused):
    """A finding the use case will not record."""


@dataclass(frozen=True)
class Recorded:
    finding: FindingRow
    outcome: Outcome


_KIND_FIELDS = (("township_unit_id", "township", "镇街"), ("department_unit_id", "department", "部门"))


async def record(conn: asyncpg.Connection, finding: FindingIn, *, principal: Principal, now: datetime) -> Recorded:
    """Store ``finding`` (inside the caller's transaction) or say why not (``FindingRefused``)."""
    key = finding.id
    digest = finding.fingerprint()
    if key is not None:
        mine = await store.by_recorder_key(conn, principal.subject, key)
        if mine is not None:
            return _again(mine, digest)
    own_namespace = principal.role is Role.SUPERVISION_MEMBER
    finding_id = key if key is not None and not own_namespace else _new_id()
    if not own_namespace and await store.get(conn, finding_id) is not None:
        raise FindingRefused(409, _TAKEN, "id")  # another inspector's: they read every finding anyway
    cycle = await cycle_store.get(conn, finding.cycle_id, for_share=True)
    if cycle is None:
        raise FindingRefused(404, "周期不存在 (no such cycle)", "cycle_id")
    if cycle.phase != "covert" or not cycle.starts_at <= now < cycle.covert_ends_at:
        when = "尚未开始 (has not started)" if now < cycle.starts_at else "已结束 (is over)"
        raise FindingRefused(409, f"该周期的暗访阶段{when}", "cycle_id")
    units = await unit_store.many(conn, finding.unit_ids())
    in_scope = await cycle_store.in_scope(conn, cycle.id, finding.unit_ids())
    for field, kind, label in _KIND_FIELDS:
        unit_id = getattr(finding, field)
        if unit_id is None:
            continue
        if unit_id not in units:
            raise FindingRefused(422, f"单位 {unit_id} 不存在 (no such unit)", field)
        if units[unit_id].kind != kind:
            raise FindingRefused(422, f"{units[unit_id].name} 不是{label} (not a {kind})", field)
        if unit_id not in in_scope:
            raise FindingRefused(422, f"{units[unit_id].name} 不在本周期范围内 (not in the cycle's scope)", field)
    values: dict[str, Any] = {
        "id": finding_id, "client_id": key, "cycle_id": finding.cycle_id, "township_unit_id": finding.township_unit_id,
        "department_unit_id": finding.department_unit_id, "category": finding.category.value,
        "severity": finding.severity.value, "hazard_key": finding.effective_hazard_key(), "place": finding.place,
        "latitude": finding.latitude, "longitude": finding.longitude, "description": finding.description,
        "evidence": list(finding.evidence), "recorded_by": principal.subject,
        "recorded_role": principal.role.value, "recorded_at": now, "fingerprint": digest,
    }
    if not await store.insert(conn, values):
        # a twin request committed first (the unique index waited for it): answer as the request again
        raced = await store.by_recorder_key(conn, principal.subject, key) if key is not None else None
        if raced is not None:
            return _again(raced, digest)
        raise FindingRefused(409, "该编号已被同时使用 (the id was used concurrently)", "id")
    row = await store.get(conn, finding_id)
    assert row is not None
    return Recorded(row, Outcome.CREATED)


_TAKEN = "该编号已用于内容不同的发现 (a different finding already has this id)"


def _new_id() -> str:
    return f"F-{uuid.uuid4().hex[:16]}"


def _again(existing: FindingRow, digest: str) -> Recorded:
    """The recorder's own key again: the same finding is harmless, other content under it a conflict."""
    if existing.fingerprint != digest:
        raise FindingRefused(409, _TAKEN, "id")
    return Recorded(existing, Outcome.UNCHANGED)


async def record_by_request(ctx: InspectionContext, finding: FindingIn, *, principal: Principal) -> Recorded:
    """A recorder's request, in its own transaction."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        return await record(conn, finding, principal=principal, now=ctx.now())


def _own_only(principal: Principal) -> str | None:
    """A supervision-group member reads only what they recorded; inspectors and admins read every finding."""
    return principal.subject if principal.role is Role.SUPERVISION_MEMBER else None


async def list_findings(ctx: InspectionContext, principal: Principal, *, cycle_id: str | None, unit_id: str | None,
                        limit: int, after: str | None) -> Page[FindingRow]:
    async with ctx.runtime.connection() as conn:
        rows = await store.page(conn, recorded_by=_own_only(principal), cycle_id=cycle_id, unit_id=unit_id,
                                limit=limit, after=after)
    return page_of(rows, limit, lambda r: r.id)


async def get_finding(ctx: InspectionContext, principal: Principal, finding_id: str) -> FindingRow:
    """The finding, if ``principal`` may read it: another member's is answered as one that does not exist."""
    async with ctx.runtime.connection() as conn:
        row = await store.get(conn, finding_id)
    own = _own_only(principal)
    if row is None or (own is not None and row.recorded_by != own):
        raise NotFound("发现不存在 (no such finding)", field="finding_id")
    return row
