"""Anti-fraud flags of accepted scans (``patrol.scan-accepted``): flag, never reject.

``flag_scans`` runs in the ``patrol.scans`` consumer group (``consumers.py``), right after the batch's scans
joined their rounds, in the batch's one transaction — never in the intake's. It was its own group
(``patrol.flags``) until the duplicated fetch, decode and inbox claim of every scan cost too much CPU; one group
now decodes and claims each scan once, and a scan that cannot be handled is dead-lettered once for both effects.

Each batch of accepted scans joins the members' timelines (``flag_timeline``), the rules of ``domain.fraud``
compare every new scan with its neighbours there (the batch's own included), and each flag is stored once per
scan and kind (``scan_flags``), published as ``patrol.scan-flagged`` (key team id, topic patrol.flags) with a LOW
alert signal beside it — all in the batch's one transaction, with the inbox rows.

Once only: the inbox drops a redelivered event; a scan re-announced under a new event id is already on the
timeline and is not judged again; a flag already stored (a neighbour re-checked when a late scan landed
between) is not stored or published again.

Alert signals: one open alert per member, kind and patrol night (``patrol:flag:<team>:<member>:<kind>:<night>``;
the night is ``live.night.night_of`` of the scan's time, local noon to noon, so 01:00 belongs to the evening
before). A batch sends one trigger per dedup key; alerts keeps one alert open per key however many arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from patrol.context import PatrolContext
from patrol.domain.checkpoints import Checkpoint
from patrol.domain.fraud import (
    Flag,
    FraudPolicy,
    MemberTimeline,
    ScanFacts,
    TimelineScan,
    neighbour_flags,
    single_scan_flags,
)
from patrol.live.night import night_of
from patrol.settings import PatrolSettings
from patrol.store import checkpoints as store_checkpoints
from patrol.store import flags as store_flags
from patrol.store.flags import FlagQuery, ListedFlag
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import ALERT_SIGNAL, SCAN_FLAGGED
from pingan_shared.events.contracts import ScanAcceptedV2, ScanMethod
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.patrol_contracts import ScanFlaggedV1
from pingan_shared.messaging.outbox import enqueue

FLAG_SIGNAL_KIND = "patrol.scan-flagged"


def fraud_policy(settings: PatrolSettings) -> FraudPolicy:
    return FraudPolicy(
        clock_tolerance=timedelta(seconds=settings.clock_tolerance_seconds),
        max_speed_kmh=settings.flag_max_speed_kmh,
        repeat_window=timedelta(seconds=settings.flag_repeat_seconds),
        device_span=timedelta(minutes=settings.flag_device_span_minutes),
        neighbour_horizon=timedelta(hours=settings.flag_neighbour_hours),
    )


async def flag_scans(conn: asyncpg.Connection, ctx: PatrolContext,
                     accepted: Sequence[tuple[Envelope, ScanAcceptedV2]], policy: FraudPolicy) -> list[Flag]:
    """Judge a batch of accepted scans; returns the flags stored (and published) for the first time."""
    if not accepted:
        return []
    by_id, _ = await store_checkpoints.find_checkpoints(conn, {p.checkpoint_id for _, p in accepted}, ())
    facts = {(p.team_id, p.scan_id): (envelope, scan_facts(p, by_id.get(p.checkpoint_id)))
             for envelope, p in accepted}
    added = await store_flags.add_to_timeline(conn, [f.scan for _, f in facts.values()])
    fresh = [(envelope, f) for key, (envelope, f) in facts.items() if key in added]
    if not fresh:
        return []
    nearby = await store_flags.member_scans_near(conn, [f.scan for _, f in fresh], near=policy.near,
                                                 horizon=policy.neighbour_horizon)
    timelines = {member: MemberTimeline(scans) for member, scans in nearby.items()}
    found: dict[tuple[str, str, str], tuple[Flag, Envelope]] = {}
    for envelope, f in fresh:
        member = timelines.get((f.scan.team_id, f.scan.member_id)) or MemberTimeline([f.scan])
        for flag in [*single_scan_flags(f, policy), *neighbour_flags(f.scan, member, policy)]:
            found.setdefault(flag.key, (flag, envelope))
    return await _record(conn, ctx, list(found.values()))


def scan_facts(scan: ScanAcceptedV2, checkpoint: Checkpoint | None) -> ScanFacts:
    """The rules' view of an accepted scan: where it proves presence is its checkpoint (the tag is fixed there),
    else the scan's GPS."""
    if checkpoint is not None and checkpoint.latitude is not None and checkpoint.longitude is not None:
        place: tuple[float | None, float | None, float] = (checkpoint.latitude, checkpoint.longitude,
                                                           checkpoint.radius_m)
    else:
        place = (scan.latitude, scan.longitude, scan.accuracy_m or 0.0)
    expected = checkpoint.expected_method if checkpoint is not None else None
    return ScanFacts(
        scan=TimelineScan(team_id=scan.team_id, scan_id=scan.scan_id, member_id=scan.member_id,
                          device_id=scan.device_id, checkpoint_id=scan.checkpoint_id, at=scan.corrected_time,
                          latitude=place[0], longitude=place[1], spread_m=place[2]),
        within_radius=scan.within_radius, distance_m=scan.distance_m,
        radius_m=checkpoint.radius_m if checkpoint is not None else None, accuracy_m=scan.accuracy_m,
        clock_offset_seconds=scan.clock_offset_seconds, method=scan.method,
        expected_method=ScanMethod(expected) if expected else None,
    )


def dedup_key(flag: Flag, zone: ZoneInfo) -> str:
    scan = flag.scan
    return f"patrol:flag:{scan.team_id}:{scan.member_id}:{flag.kind}:{night_of(scan.at, zone).isoformat()}"


async def _record(conn: asyncpg.Connection, ctx: PatrolContext,
                  found: Sequence[tuple[Flag, Envelope]]) -> list[Flag]:
    now = ctx.now()
    made = []
    for flag, cause in found:
        scan = flag.scan
        payload = ScanFlaggedV1(team_id=scan.team_id, scan_id=scan.scan_id, member_id=scan.member_id,
                                checkpoint_id=scan.checkpoint_id, device_id=scan.device_id, kind=flag.kind,
                                summary=flag.summary[:500], detail=flag.detail, scanned_at=scan.at,
                                flagged_at=now)
        made.append((flag, cause, ctx.events.make(SCAN_FLAGGED, payload, key=scan.team_id, causation=cause)))
    stored = await store_flags.insert_flags(conn, [_row(flag, envelope.event_id, now) for flag, _, (_, envelope)
                                                   in made])
    new = [(flag, cause, message) for flag, cause, message in made if flag.key in stored]
    signals: dict[str, tuple[str, Envelope]] = {}
    for flag, cause, _ in new:
        key = dedup_key(flag, ctx.zone)
        if key not in signals:
            signals[key] = ctx.events.make(ALERT_SIGNAL, _signal(flag, key, now), key=key, causation=cause)
    await enqueue(conn, [message for _, _, message in new] + list(signals.values()))
    return [flag for flag, _, _ in new]


def _row(flag: Flag, event_id: UUID, now: datetime) -> store_flags.FlagRow:
    scan = flag.scan
    return store_flags.FlagRow(
        team_id=scan.team_id, scan_id=scan.scan_id, kind=flag.kind, member_id=scan.member_id,
        checkpoint_id=scan.checkpoint_id, device_id=scan.device_id, scanned_at=scan.at, summary=flag.summary,
        detail=flag.detail, flagged_at=now, event_id=event_id,
    )


def _signal(flag: Flag, key: str, now: datetime) -> AlertSignalV1:
    scan = flag.scan
    return AlertSignalV1(
        action=SignalAction.TRIGGER, dedup_key=key, kind=FLAG_SIGNAL_KIND, severity=Severity.LOW,
        summary=f"巡逻扫码异常（{scan.team_id}）：{flag.summary}"[:500],
        source=SourceLink(service="patrol", entity_type="scan", entity_id=f"{scan.team_id}/{scan.scan_id}"[:200]),
        occurred_at=now,
    )


async def list_flags(
    conn: asyncpg.Connection, *, team_id: str | None, member_id: str | None, scan_id: str | None,
    kind: str | None, since: datetime | None, until: datetime | None, area: Sequence[str] | None, limit: int,
    after: int | None,
) -> list[ListedFlag]:
    """Flags in the order they were raised, ``limit`` of them after the one numbered ``after``; ``area``: of
    scans counted in a round there or made at a checkpoint there."""
    query = FlagQuery(team_id=team_id, member_id=member_id, scan_id=scan_id, kind=kind, since=since, until=until,
                      area=area)
    return await store_flags.list_flags(conn, query, limit=limit, after=after)
