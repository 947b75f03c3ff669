"""Ad-hoc rectification from patrol (``patrol.hazard-reported`` → ``inspection.hazards``): a hazard seen on
patrol becomes a task due 24 hours (``hazard_deadline_hours``) after it was reported, for the unit the patrol
named, or a triage task (分流交办) for an inspector to assign when the unit is absent or not one inspection
knows. It joins no notice: a notice (通报) circulates the covert inspection's findings.

Applied once per hazard: the inbox drops a redelivered event, and a report re-sent under a new event id finds
its hazard id already applied. A report of a hazard the unit already has an open task for (same hazard key)
merges into that task; for a task opened by patrol the earlier of the two deadlines stands, so two reports of
one hazard end the same whichever arrives first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from inspection import deadlines, timeline
from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis
from inspection.domain.findings import hazard_key
from inspection.opening import TaskDraft, open_task
from inspection.store import tasks as store
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.patrol_contracts import HazardReportedV1

HAZARD_SEVERITY = "high"


def key_of(report: HazardReportedV1) -> str:
    """Same category and place = same hazard; a report without a place is a hazard of its own."""
    return hazard_key(report.category, report.place) if report.place.strip() else f"hazard:{report.hazard_id}"


def hazard_handler(ctx: InspectionContext) -> Callable[[asyncpg.Connection, Envelope, BaseModel], Awaitable[None]]:
    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        assert isinstance(payload, HazardReportedV1)
        await apply_report(conn, payload, envelope=envelope, ctx=ctx, now=ctx.now())

    return handle


async def apply_report(conn: asyncpg.Connection, report: HazardReportedV1, *, envelope: Envelope | None,
                       ctx: InspectionContext, now: datetime) -> str:
    """Apply one hazard report; returns the task it opened or merged into."""
    applied = await store.task_of_hazard(conn, report.hazard_id)
    if applied is not None:
        return applied  # a re-sent report
    task_id = await _apply_new(conn, report, envelope=envelope, ctx=ctx, now=now)
    await store.record_hazard(conn, report.hazard_id, task_id, reported_at=report.reported_at, applied_at=now)
    return task_id


async def _apply_new(conn: asyncpg.Connection, report: HazardReportedV1, *, envelope: Envelope | None,
                     ctx: InspectionContext, now: datetime) -> str:
    unit_id = report.unit_id if report.unit_id and await conn.fetchval(
        "SELECT 1 FROM units WHERE id = $1", report.unit_id) else None
    key = key_of(report)
    deadline = report.reported_at + timedelta(hours=ctx.settings.hazard_deadline_hours)
    reporter = f"patrol:{report.team_id}/{report.member_id}"
    if unit_id is not None:
        existing = await store.open_task_of(conn, unit_id, key)
        if existing is not None:
            await _merge(conn, existing, report, deadline=deadline, reporter=reporter, zone=ctx.zone, now=now)
            return str(existing["id"])
    draft = TaskDraft(
        unit_id=unit_id, origin="hazard", category=report.category, severity=HAZARD_SEVERITY, hazard_key=key,
        place=report.place, description=report.description, deadline=deadline, day_basis=DayBasis.CALENDAR,
        latitude=report.latitude, longitude=report.longitude, evidence=list(report.photo_refs),
        hazard_id=report.hazard_id,
    )
    opened = await open_task(conn, ctx, draft, now=now, actor=reporter, notice=False, causation=envelope)
    if not opened.merged:
        detail: dict[str, object] = {"hazard_id": report.hazard_id, "team_id": report.team_id}
        if unit_id is None and report.unit_id:
            detail["reported_unit_id"] = report.unit_id  # not a unit inspection knows: triage
        await timeline.record(conn, opened.task_id, at=report.reported_at, actor=reporter, action="hazard-reported",
                              detail=detail)
    return opened.task_id


async def _merge(conn: asyncpg.Connection, task: asyncpg.Record, report: HazardReportedV1, *, deadline: datetime,
                 reporter: str, zone: ZoneInfo, now: datetime) -> None:
    detail: dict[str, object] = {"origin": "hazard", "hazard_id": report.hazard_id,
                                 "description": report.description, "evidence": list(report.photo_refs),
                                 "reported_at": report.reported_at.isoformat()}
    earlier = (task["origin"] == "hazard" and not task["listed"] and task["overdue_at"] is None
               and deadline < task["deadline"])
    if earlier:
        detail["deadline"] = deadline.isoformat()
        await store.update(conn, task["id"], deadline=deadline)
        if task["status"] != "triage":
            await deadlines.arm(conn, task["id"], deadline=deadline, basis=DayBasis(task["day_basis"]), zone=zone,
                                now=now)
    await timeline.record(conn, task["id"], at=now, actor=reporter, action="merged", detail=detail)
