"""patrol's inbox consumers (each event's effects exactly once; HandlerRejected → dead letter):

- ``patrol.rounds``: ``patrol.scan-accepted`` → the scan joins its round (``rounds.attach_scans``), in batches,
  outside the HTTP intake's transaction so that intake stays as fast as it was.
- ``patrol.shifts``: ``roster.shift-assigned`` / ``-changed`` / ``-cancelled`` → a patrol shift's plan
  (``shift_plans``), keeping the highest envelope sequence per shift so that a reordered or repeated event
  changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from pydantic import BaseModel

from patrol import rounds, shift_plans
from patrol.context import PatrolContext
from pingan_shared.events.catalog import SCAN_ACCEPTED, SHIFT_ASSIGNED, SHIFT_CANCELLED, SHIFT_CHANGED
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import BatchHandler, ConsumerSpec, Handler

ROUNDS_GROUP = "patrol.rounds"
SHIFTS_GROUP = "patrol.shifts"


def scans_handler(ctx: PatrolContext) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        facts = [
            rounds.ScanFact(p.team_id, p.scan_id, p.checkpoint_id, p.device_time)  # type: ignore[attr-defined]
            for _, p in events
        ]
        await rounds.attach_scans(conn, ctx, facts)

    return handle


def shift_handler(ctx: PatrolContext) -> Handler:
    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        await shift_plans.apply_shift_event(conn, ctx, envelope, payload)

    return handle


def specs(ctx: PatrolContext) -> list[ConsumerSpec]:
    on_shift = shift_handler(ctx)
    return [
        ConsumerSpec(ROUNDS_GROUP, batch_handlers={SCAN_ACCEPTED: scans_handler(ctx)}),
        ConsumerSpec(SHIFTS_GROUP, handlers={SHIFT_ASSIGNED: on_shift, SHIFT_CHANGED: on_shift,
                                             SHIFT_CANCELLED: on_shift}),
    ]
