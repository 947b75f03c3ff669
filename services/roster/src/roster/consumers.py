"""roster's inbox consumers (each event's effects exactly once; HandlerRejected → dead letter):

- ``roster.scans``: ``patrol.scan-accepted`` → in batches, in the batch's one transaction, the daily attendance
  tally (``attendance.record_scans``) and then presence on the published shifts the scans fall in
  (``presence.mark_scans``, which resolves a no-show a late scan answers). The inbox drops a redelivered scan;
  neither effect needs the scans in order.

  The group was named ``roster.attendance`` until the service took the one shape, the name of the topic roster
  publishes its no-shows on; it is named, like every group, after what it consumes. Migration 0005 carries the
  old group's inbox rows over to the new name, so the new group's first start, which reads the topic from its
  earliest retained offset, finds every scan the old group handled already in its inbox and counts none twice.
- ``roster.patrol-answers``: ``patrol.shift-planned`` / ``patrol.shift-refused`` → what patrol made of each
  published patrol shift (``patrol_answers.apply_answer``), the highest sequence per shift kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from pydantic import BaseModel

from pingan_shared.events.catalog import SCAN_ACCEPTED, SHIFT_PLANNED, SHIFT_REFUSED
from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import BatchHandler, ConsumerSpec
from roster import attendance, patrol_answers, presence
from roster.context import RosterContext

SCANS_GROUP = "roster.scans"
ANSWERS_GROUP = "roster.patrol-answers"


def scans_handler(ctx: RosterContext) -> BatchHandler:
    async def handle(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        # The catalog upcasts every version to ScanAcceptedV2; the filter only narrows the type.
        scans = [payload for _, payload in events if isinstance(payload, ScanAcceptedV2)]
        await attendance.record_scans(conn, ctx, scans)
        await presence.mark_scans(conn, ctx, scans)

    return handle


def specs(ctx: RosterContext) -> list[ConsumerSpec]:
    async def on_answer(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        await patrol_answers.apply_answer(conn, ctx, envelope, payload)

    return [ConsumerSpec(SCANS_GROUP, batch_handlers={SCAN_ACCEPTED: scans_handler(ctx)}),
            ConsumerSpec(ANSWERS_GROUP, handlers={SHIFT_PLANNED: on_answer, SHIFT_REFUSED: on_answer})]
