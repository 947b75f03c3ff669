"""A round's effects as events and alert signals (DESIGN.md §3), written by the caller through the outbox in
the transaction that changed the round.

Round events are keyed by round id (topic patrol.rounds); alert signals by their dedup key:
``patrol:round:<id>:not-started`` and ``patrol:round:<id>:missed:<checkpoint>`` (漏巡). A resolve uses the same
key as its trigger, so the alerts service closes exactly the alert it opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from patrol.domain.rounds import Effect, Round, RoundEffect
from patrol.store import checkpoints as store_checkpoints
from patrol.store import routes as store_routes
from patrol.store.rounds import RoundRow
from pingan_shared.directory.doors import signal_place
from pingan_shared.events.alert_contracts import AlertSignalV1, Severity, SignalAction, SourceLink
from pingan_shared.events.catalog import (
    ALERT_SIGNAL,
    CHECKPOINT_MISSED,
    ROUND_COMPLETED,
    ROUND_EXPIRED,
    ROUND_INCOMPLETE,
    ROUND_NOT_STARTED,
    ROUND_STARTED,
)
from pingan_shared.events.envelope import Envelope
from pingan_shared.events.factory import EventFactory
from pingan_shared.events.patrol_contracts import (
    CheckpointMissedV1,
    RoundCompletedV1,
    RoundExpiredV1,
    RoundIncompleteV1,
    RoundNotStartedV1,
    RoundStartedV1,
)

NOT_STARTED_KIND = "patrol.round-not-started"
MISSED_KIND = "patrol.checkpoint-missed"


# The effects that send an alert signal (which carries the round's place: its area's directory code).
_SIGNALLED = frozenset({Effect.NOT_STARTED, Effect.NOT_STARTED_RESOLVED, Effect.MISSED, Effect.MISSED_RESOLVED})


def not_started_key(round_id: str) -> str:
    return f"patrol:round:{round_id}:not-started"


def missed_key(round_id: str, checkpoint_id: str) -> str:
    return f"patrol:round:{round_id}:missed:{checkpoint_id}"


def _facts(row: RoundRow, round_: Round) -> dict[str, Any]:
    return {
        "round_id": round_.id, "plan_id": row.plan_id, "shift_id": row.shift_id, "team_id": row.team_id,
        "route_id": row.route_id, "route_version": row.route_version, "area": row.area,
        "window_starts_at": round_.starts_at, "window_ends_at": round_.closes_at,
        "start_due_at": round_.start_due_at, "expected_checkpoints": len(round_.checkpoint_ids),
    }


async def round_envelopes(
    conn: asyncpg.Connection, events: EventFactory, zone: ZoneInfo, row: RoundRow, round_: Round,
    effects: Sequence[RoundEffect], *, now: datetime,
) -> list[tuple[str, Envelope]]:
    """The events and signals of ``effects`` (in order) of one round."""
    if not effects:
        return []
    facts = _facts(row, round_)
    key = round_.id
    route_name = await store_routes.name_of(conn, row.route_id, row.route_version)
    names = await store_checkpoints.names(conn, round_.checkpoint_ids)
    when = f"{round_.starts_at.astimezone(zone):%m-%d %H:%M}"
    link = SourceLink(service="patrol", entity_type="round", entity_id=round_.id[:200])
    where = await signal_place(conn, area=row.area) if any(item.effect in _SIGNALLED for item in effects) else None
    out: list[tuple[str, Envelope]] = []

    def signal(action: SignalAction, dedup_key: str, kind: str, summary: str) -> tuple[str, Envelope]:
        assert where is not None
        payload = AlertSignalV1(action=action, dedup_key=dedup_key, kind=kind, severity=Severity.MEDIUM,
                                area=row.area, **where.fields(), summary=summary[:500], source=link,
                                occurred_at=now)
        return events.make(ALERT_SIGNAL, payload, key=dedup_key)

    team = row.team_id
    for item in effects:
        if item.effect is Effect.STARTED:
            assert round_.started_at is not None
            out.append(events.make(ROUND_STARTED, RoundStartedV1(
                **facts, started_at=round_.started_at, late=round_.started_at > round_.start_due_at), key=key))
        elif item.effect is Effect.COMPLETED:
            assert round_.started_at is not None and round_.completed_at is not None
            out.append(events.make(ROUND_COMPLETED, RoundCompletedV1(
                **facts, started_at=round_.started_at, completed_at=round_.completed_at), key=key))
        elif item.effect is Effect.INCOMPLETE:
            assert round_.started_at is not None
            out.append(events.make(ROUND_INCOMPLETE, RoundIncompleteV1(
                **facts, started_at=round_.started_at, scanned_checkpoints=len(round_.scanned),
                missed_checkpoint_ids=round_.unscanned), key=key))
        elif item.effect is Effect.EXPIRED:
            out.append(events.make(ROUND_EXPIRED, RoundExpiredV1(
                **facts, missed_checkpoint_ids=round_.unscanned), key=key))
        elif item.effect is Effect.NOT_STARTED:
            out.append(events.make(ROUND_NOT_STARTED, RoundNotStartedV1(**facts), key=key))
            out.append(signal(SignalAction.TRIGGER, not_started_key(round_.id), NOT_STARTED_KIND,
                              f"巡逻队 {team} 轮次未按时开始：{route_name}（{when} 起）"))
        elif item.effect is Effect.NOT_STARTED_RESOLVED:
            out.append(signal(SignalAction.RESOLVE, not_started_key(round_.id), NOT_STARTED_KIND,
                              f"巡逻队 {team} 轮次已开始：{route_name}（{when} 起）"))
        elif item.effect is Effect.MISSED:
            assert item.checkpoint_id is not None
            name = names.get(item.checkpoint_id, item.checkpoint_id)
            out.append(events.make(CHECKPOINT_MISSED, CheckpointMissedV1(
                **facts, checkpoint_id=item.checkpoint_id, checkpoint_name=name[:200]), key=key))
            out.append(signal(SignalAction.TRIGGER, missed_key(round_.id, item.checkpoint_id), MISSED_KIND,
                              f"巡逻队 {team} 漏巡：{name}（{route_name}，{when} 起的轮次）"))
        elif item.effect is Effect.MISSED_RESOLVED:
            assert item.checkpoint_id is not None
            name = names.get(item.checkpoint_id, item.checkpoint_id)
            out.append(signal(SignalAction.RESOLVE, missed_key(round_.id, item.checkpoint_id), MISSED_KIND,
                              f"巡逻队 {team} 补报巡查：{name}（{route_name}，{when} 起的轮次）"))
    return out
