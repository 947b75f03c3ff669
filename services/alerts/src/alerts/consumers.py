"""Inbox consumers of alerts (each event's effects exactly once; HandlerRejected → dead letter):

- ``alerts.signals``: ``alerts.signal`` from each platform source's own topic (``<source>.alert-signals``) →
  raise or close the alert of its dedup key (``signals.apply_signal``), by the per-key sequence the producer's
  outbox put in the envelope. The source is the envelope's producer, which the inbox consumer has checked
  against the topic's owner; a signal outside its source's namespace is dead-lettered with the reason.
"""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel

from alerts.context import AlertsContext
from alerts.domain.provenance import SignalRefused
from alerts.signals import apply_signal
from pingan_shared.directory.replica import REPLICA_HANDLERS
from pingan_shared.events.alert_contracts import AlertSignalV1
from pingan_shared.events.catalog import ALERT_SIGNAL
from pingan_shared.events.envelope import Envelope
from pingan_shared.messaging.consumer import ConsumerSpec, Handler, HandlerRejected

SIGNALS_GROUP = "alerts.signals"


def signal_handler(ctx: AlertsContext) -> Handler:
    async def handle(conn: asyncpg.Connection, envelope: Envelope, payload: BaseModel) -> None:
        assert isinstance(payload, AlertSignalV1)
        # The envelope's sequence is the producer's outbox counter for the key; a signal made outside an
        # outbox may carry its own in the body.
        sequence = envelope.sequence if envelope.sequence is not None else payload.sequence
        try:
            await apply_signal(conn, ctx, payload, source=envelope.producer, producer=envelope.producer,
                               sequence=sequence, now=ctx.now())
        except SignalRefused as refused:
            raise HandlerRejected(f"来源 {envelope.producer} 的信号被拒 (signal refused): {refused.field}: "
                                  f"{refused.detail}") from refused

    return handle


def specs(ctx: AlertsContext) -> list[ConsumerSpec]:
    # the directory's entries too: alerts' copy, by which a signal's place is placed
    return [ConsumerSpec(SIGNALS_GROUP, handlers={ALERT_SIGNAL: signal_handler(ctx), **REPLICA_HANDLERS})]
