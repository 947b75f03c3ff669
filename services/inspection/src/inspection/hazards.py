"""Ad-hoc rectification from patrol (``patrol.hazard-reported`` → ``inspection.hazards``): a hazard seen on
patrol becomes a task due 24 hours (``hazard_deadline_hours``) after it was reported, for the unit the patrol
named (its id, or the directory's code or unique name of the unit's organisation), or a triage task (分流交办) for
an inspector to assign when the unit is absent or not one inspection knows. It joins no notice: a notice (通报)
circulates the covert inspection's findings.

When the unit the patrol named is nothing the directory holds as a township government or department (DESIGN.md §3,
flow 7), the patrol's organiser can fix that (the directory, or the unit the team reports): inspection still opens
the triage task (nothing is lost) and answers ``inspection.hazard-refused`` with the problem, on the topic patrol
reads its answers from, in the same transaction. A unit the directory holds that inspection has not registered is
inspection's to fix: triage, no refusal. The hazard's ``place`` is an address in words (安阳街道万松路12号), not a
directory code, so it is not checked.

The 24 hours count from when the patrol saw it, on the patrol device's clock, kept within the day before the
report was received (``received_at − 24 h … received_at``): a device clock far in the past does not make the
task overdue before anyone could act, nor one in the future put its deadline off.

Applied once per hazard: the inbox drops a redelivered event, and a report re-sent under a new event id finds
its hazard id already applied (``hazard_reports``: the task it went to, or the task that task merged into). A
report of a hazard the unit already has an open task for (same hazard key) merges into that task
(``opening.merge``: for a task opened by patrol the earlier of the two deadlines stands, so two reports of one
hazard end the same whichever arrives first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import asyncpg
from pydantic import BaseModel

from inspection.context import InspectionContext
from inspection.domain.calendar import DayBasis
from inspection.domain.findings import hazard_key
from inspection.opening import TaskDraft, open_task
from inspection.store import tasks as store
from inspection.store import timeline
from inspection.store import units as unit_store
from inspection.units import UNIT_ORGANISATIONS
from pingan_shared.directory.doors import find
from pingan_shared.events.catalog import HAZARD_REFUSED
from pingan_shared.events.contracts import RefusalProblem
from pingan_shared.events.directory_contracts import KIND_NAMES
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.inspection_contracts import HazardRefusedV1
from pingan_shared.events.patrol_contracts import HazardReportedV1
from pingan_shared.messaging.outbox import enqueue

HAZARD_SEVERITY = "high"
DEVICE_CLOCK_WINDOW = timedelta(hours=24)  # how far before its receipt a sighting's device time is believed


def key_of(report: HazardReportedV1) -> str:
    """Same category and place = same hazard; a report without a place is a hazard of its own."""
    return hazard_key(report.category, report.place) if report.place.strip() else f"hazard:{report.hazard_id}"


def hazard_handler(ctx: InspectionContext) -> Callable[[asyncpg.Connection, Envelope, BaseModel], Awaitable[None]]:
    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        assert isinstance(payload, HazardReportedV1)
        await apply_report(conn, payload, envelope=envelope, ctx=ctx, now=ctx.now())

    return handle


def seen_at(report: HazardReportedV1) -> datetime:
    """The sighting's device time, kept within [received_at − 24 h, received_at]."""
    return min(max(report.reported_at, report.received_at - DEVICE_CLOCK_WINDOW), report.received_at)


async def apply_report(conn: asyncpg.Connection, report: HazardReportedV1, *, envelope: Envelope | None,
                       ctx: InspectionContext, now: datetime) -> str:
    """Apply one hazard report; returns the task it opened or merged into."""
    applied = await store.task_of_hazard(conn, report.hazard_id)
    if applied is not None:
        return applied  # a re-sent report
    unit_id, problems = await responsible_unit(conn, report.unit_id)
    seen = seen_at(report)
    reporter = f"patrol:{report.team_id}/{report.member_id}"
    draft = TaskDraft(
        unit_id=unit_id, origin="hazard", category=report.category, severity=HAZARD_SEVERITY,
        hazard_key=key_of(report), place=report.place, description=report.description,
        deadline=seen + timedelta(hours=ctx.settings.hazard_deadline_hours), day_basis=DayBasis.CALENDAR,
        latitude=report.latitude, longitude=report.longitude, evidence=list(report.photo_refs),
        hazard_id=report.hazard_id, reported_at=report.reported_at,
    )
    opened = await open_task(conn, ctx, draft, now=now, actor=reporter, notice=False, causation=envelope)
    if not opened.merged:
        detail: dict[str, object] = {"hazard_id": report.hazard_id, "team_id": report.team_id,
                                     "reported_at": report.reported_at.isoformat()}
        if unit_id is None and report.unit_id:
            detail["reported_unit_id"] = report.unit_id  # not a unit inspection knows: triage
        await timeline.record(conn, opened.task_id, at=seen, actor=reporter, action="hazard-reported", detail=detail)
    await store.record_hazard(conn, report.hazard_id, opened.task_id, reported_at=report.reported_at, applied_at=now)
    if problems:
        await enqueue(conn, [ctx.events.make(HAZARD_REFUSED, HazardRefusedV1(
            hazard_id=report.hazard_id, task_id=opened.task_id, problems=problems, at=now), key=report.hazard_id,
            causation=envelope)])
    return opened.task_id


async def responsible_unit(conn: asyncpg.Connection, named: str | None) -> tuple[str | None, list[RefusalProblem]]:
    """The registered unit a hazard's ``unit_id`` names (None: triage), and what the patrol must fix about it: a
    name that is no township government or department of the directory (unknown, another kind, retired)."""
    if not named:
        return None, []
    if await unit_store.exists(conn, named):
        return named, []  # registered, whether or not the directory holds it (units from before the rule)
    entry = await find(conn, named, kinds=UNIT_ORGANISATIONS)
    if entry is not None and entry.kind in UNIT_ORGANISATIONS and not entry.retired:
        return (entry.code if await unit_store.exists(conn, entry.code) else None), []
    entry = entry or await find(conn, named)  # what else it names (a township's name, a police station), to say so
    if entry is None:
        reason = (f"目录中没有责任单位“{named}” (unknown unit {named!r}: the directory holds no township government "
                  "or department of that code or name)")
    elif entry.kind not in UNIT_ORGANISATIONS:
        reason = (f"“{named}”是{KIND_NAMES[entry.kind]}，不是责任单位（镇街政府或部门） ({named!r} is a "
                  f"{entry.kind.value} in the directory, not a township government or a department)")
    else:
        reason = f"责任单位“{entry.name}”（{entry.code}）已撤销 (unit {entry.code} is retired in the directory)"
    return None, [RefusalProblem(field="unit_id", value=named[:200], reason=reason[:500])]
