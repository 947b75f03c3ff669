"""Hazard reports from the field (``POST /v1/hazards``) → ``patrol.hazard-reported`` (key = hazard id, topic
patrol.hazards), which inspection turns into a 24-hour rectification task.

One transaction: the report row and its event in the outbox. Idempotent by the app's own id within its team
(``client_hazard_id``): the same report sent again gets the same answer and publishes nothing; another report
under a used id is a conflict. A re-sent report is recognised before its time is judged (a phone that never heard
the answer may resend it after the offline window). The published ``hazard_id`` is patrol's own (``PH-…``),
unique across teams: inspection applies each hazard id once, and two teams' apps may pick the same client id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from patrol.context import PatrolContext
from patrol.domain.hazards import HazardIn, hazard_fingerprint, judge_report_time
from patrol.store import hazards as store_hazards
from patrol.store.hazards import StoredHazard
from pingan_shared.events.catalog import HAZARD_REPORTED
from pingan_shared.events.patrol_contracts import HazardReportedV1
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Conflict, Invalid


class HazardConflict(Conflict):
    """The team already sent a different report under this client hazard id."""

    def __init__(self) -> None:
        super().__init__("该上报编号已用于内容不同的隐患 (this client_hazard_id was already used for a different "
                         "report)",
                         field="body.client_hazard_id")


class HazardRefused(Invalid):
    """A report the use case will not take: ``field`` of the body names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason, field=f"body.{field}")


@dataclass(frozen=True)
class Reported:
    created: bool  # False: the same report sent again
    report: dict[str, Any]


async def report_hazard(conn: asyncpg.Connection, ctx: PatrolContext, report: HazardIn, *, team_id: str,
                        device_id: str, correlation_id: uuid.UUID | None = None) -> Reported:
    """Store and announce a report, or answer a re-sent one; in the caller's transaction."""
    digest = hazard_fingerprint(report, team_id)
    existing = await store_hazards.by_client_id(conn, team_id, report.client_hazard_id)
    if existing is not None:
        return _again(existing, digest)
    now = ctx.now()
    problem = judge_report_time(report.reported_at, now=now,
                                max_future_skew=timedelta(seconds=ctx.settings.max_future_skew_seconds),
                                max_offline_age=timedelta(hours=ctx.settings.max_offline_age_hours))
    if problem is not None:
        raise HazardRefused("reported_at", problem)
    if len(report.photo_refs) > ctx.settings.max_hazard_photos:
        raise HazardRefused("photo_refs", (
            f"最多 {ctx.settings.max_hazard_photos} 张照片 (at most {ctx.settings.max_hazard_photos} photo "
            "references)"))
    hazard_id = f"PH-{uuid.uuid4().hex}"
    payload = HazardReportedV1(
        hazard_id=hazard_id, team_id=team_id, member_id=report.member_id, category=report.category.value,
        description=report.description, place=report.place, latitude=report.latitude, longitude=report.longitude,
        photo_refs=list(report.photo_refs), unit_id=report.unit_id, reported_at=report.reported_at, received_at=now,
    )
    topic, envelope = ctx.events.make(HAZARD_REPORTED, payload, key=hazard_id, correlation_id=correlation_id)
    row = store_hazards.HazardRow(
        team_id=team_id, client_hazard_id=report.client_hazard_id, hazard_id=hazard_id, member_id=report.member_id,
        device_id=device_id, category=report.category.value, description=report.description, place=report.place,
        latitude=report.latitude, longitude=report.longitude, photo_refs=list(report.photo_refs),
        unit_id=report.unit_id, reported_at=report.reported_at, received_at=now, fingerprint=digest,
        event_id=envelope.event_id,
    )
    if not await store_hazards.insert(conn, row):
        # a twin request committed first (the primary key waited for it): answer as a re-sent report
        raced = await store_hazards.by_client_id(conn, team_id, report.client_hazard_id)
        assert raced is not None
        return _again(raced, digest)
    await enqueue(conn, [(topic, envelope)])
    stored = await store_hazards.by_client_id(conn, team_id, report.client_hazard_id)
    assert stored is not None
    return Reported(True, stored.public())


def _again(existing: StoredHazard, digest: str) -> Reported:
    if existing.fingerprint != digest:
        raise HazardConflict()
    return Reported(False, existing.public())


async def list_hazards(conn: asyncpg.Connection, *, team_id: str | None, since: datetime | None,
                       until: datetime | None, area: Sequence[str] | None, limit: int,
                       after: int | None) -> list[StoredHazard]:
    """Reports in the order received, ``limit`` of them after the one numbered ``after``."""
    return await store_hazards.listing(conn, team_id=team_id, since=since, until=until, limit=limit, after=after,
                                       area=area)
