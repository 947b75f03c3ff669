"""patrol's inbox consumers (each event's effects exactly once; HandlerRejected → dead letter):

- ``patrol.scans``: ``patrol.scan-accepted`` → in batches, in the batch's one transaction, the scans join their
  rounds (``rounds.attach_scans``) and then the anti-fraud rules judge them (``flags.flag_scans``). Both run
  outside the HTTP intake's transaction so that intake stays as fast as it was. They were two groups
  (``patrol.rounds`` and ``patrol.flags``) reading the same events, each paying its own fetch, envelope parse,
  payload decode, inbox claim and transaction; one group does that once per scan instead of twice. Both effects
  now share one fate: a scan that cannot be handled is dead-lettered once, for both, and neither effect is
  kept for it. Each effect skips what it has already done (a scan attached, a scan on the flag timeline), so a
  redelivery or a re-announcement changes nothing; nor does this group's first start, which reads the topic
  from its earliest retained offset over scans the old groups had handled (a one-off cost, no effect).
- ``patrol.shifts``: ``roster.shift-assigned`` / ``-changed`` / ``-cancelled`` → a patrol shift's plan
  (``shift_plans``), keeping the highest envelope sequence per shift so that a reordered or repeated event
  changes nothing; and ``directory.entry-defined`` → patrol's copy of the directory
  (``pingan_shared.directory.replica``), whose teams a shift must name; and ``inspection.hazard-refused`` → the
  problems shown on a reported hazard (``hazard_answers``), the highest inspection sequence per hazard kept. Other
  services' word to patrol shares one group: a group of its own is one more consumer fetching all the time in every
  patrol process for events that come a few times a day.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from pydantic import BaseModel

from patrol import flags, hazard_answers, rounds, shift_plans
from patrol.context import PatrolContext
from patrol.domain.rounds import ScanFact
from pingan_shared.directory.replica import REPLICA_HANDLERS
from pingan_shared.events.catalog import HAZARD_REFUSED, SCAN_ACCEPTED, SHIFT_ASSIGNED, SHIFT_CANCELLED, SHIFT_CHANGED
from pingan_shared.events.contracts import ScanAcceptedV2
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import BatchHandler, ConsumerSpec, Handler

SCANS_GROUP = "patrol.scans"
SHIFTS_GROUP = "patrol.shifts"


def scans_handler(ctx: PatrolContext) -> BatchHandler:
    policy = flags.fraud_policy(ctx.settings)

    async def handle(conn: asyncpg.Connection, events: Sequence[tuple[Envelope, BaseModel]]) -> None:
        # The catalog upcasts every version to ScanAcceptedV2; the filter only narrows the type.
        accepted = [(envelope, p) for envelope, p in events if isinstance(p, ScanAcceptedV2)]
        facts = [ScanFact(p.team_id, p.scan_id, p.checkpoint_id, p.device_time) for _, p in accepted]
        await rounds.attach_scans(conn, ctx, facts)
        await flags.flag_scans(conn, ctx, accepted, policy)

    return handle


def shift_handler(ctx: PatrolContext) -> Handler:
    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        await shift_plans.apply_shift_event(conn, ctx, envelope, payload)

    return handle


def specs(ctx: PatrolContext) -> list[ConsumerSpec]:
    on_shift = shift_handler(ctx)
    return [
        ConsumerSpec(SCANS_GROUP, batch_handlers={SCAN_ACCEPTED: scans_handler(ctx)}),
        ConsumerSpec(SHIFTS_GROUP, handlers={SHIFT_ASSIGNED: on_shift, SHIFT_CHANGED: on_shift,
                                             SHIFT_CANCELLED: on_shift, HAZARD_REFUSED: hazard_answers.apply_answer,
                                             **REPLICA_HANDLERS}),
    ]
