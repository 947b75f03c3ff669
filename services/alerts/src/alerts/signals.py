"""Alert signals in (DESIGN.md §3), from Kafka (``consumers``) and from the HTTP events API alike.

One open alert per dedup key, enforced by the database (``alerts_one_open_per_key``). Per key and producer the
highest sequence applied is kept (``pingan_shared.messaging.ordering``): a signal not newer than it changes
nothing, so a redelivery is a no-op and a ``resolve`` that overtook its ``trigger`` wins (the late trigger is
stale). A ``trigger`` while an alert is open changes nothing (deduplicated) unless it names people
(``AlertSignalV1.people``) the alert does not address yet: then its ladder widens to them and they hear the step
it stands at, once (``addressed``; a roster member who joined a shift after its handoff reminder went out); a
``trigger`` after a resolve opens a new alert; a ``resolve`` closes the open alert, or finds nothing to close.

An unsequenced signal (no sequence in the envelope nor in the body) cannot be placed: it is applied as it comes.

Before any of that, provenance (``domain.provenance``): a ``source`` triggers or resolves only keys of its own
namespace, and uses no other source's kinds; a built-in ladder applies only to its own source's alerts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from alerts import escalation, policies, resolution
from alerts.context import AlertsContext
from alerts.domain.alert import Alert, step_event
from alerts.domain.policy import freeze, leads_nowhere
from alerts.domain.provenance import check_signal
from alerts.places import place_of
from alerts.store import alerts as store
from alerts.store import signals as signal_store
from alerts.store import timeline
from pingan_shared.events.alert_contracts import AlertRaisedV1, AlertSignalV1, SignalAction


@dataclass(frozen=True)
class Outcome:
    """What a signal did: ``raised``, ``deduplicated``, ``addressed`` (an open alert widened to more people),
    ``resolved``, ``nothing-open`` or ``stale``."""

    effect: str
    alert_id: str | None
    status: str | None

    @property
    def applied(self) -> bool:
        return self.effect in ("raised", "addressed", "resolved")


async def apply_signal(conn: asyncpg.Connection, ctx: AlertsContext, signal: AlertSignalV1, *, source: str,
                       producer: str, sequence: int | None, now: datetime) -> Outcome:
    """Apply one signal of ``source`` (its verified namespace) inside the caller's transaction; ``producer`` is
    whose per-key sequence it carries. Raises ``SignalRefused`` for a signal outside the source's namespace."""
    check_signal(source, dedup_key=signal.dedup_key, kind=signal.kind)
    await signal_store.lock_key(conn, signal.dedup_key)
    last = await signal_store.last_sequence(conn, signal.dedup_key, producer)
    open_alert = await store.open_for_key(conn, signal.dedup_key)
    if sequence is not None and last is not None and sequence <= last:
        return Outcome("stale", open_alert.id if open_alert else None, open_alert.status.value if open_alert else None)
    await signal_store.record(conn, signal.dedup_key, producer, sequence=sequence, action=signal.action.value, at=now)
    if signal.action is SignalAction.RESOLVE:
        if open_alert is None:
            return Outcome("nothing-open", None, None)
        alert = await store.lock(conn, open_alert.id)
        assert alert is not None
        alert = await resolution.resolve(conn, ctx, alert, by=None,
                                         reason=f"来源已恢复（resolve signal from {producer}）", now=now)
        return Outcome("resolved", alert.id, alert.status.value)
    if open_alert is not None:
        if not signal.people:
            return Outcome("deduplicated", open_alert.id, open_alert.status.value)
        alert = await store.lock(conn, open_alert.id)
        assert alert is not None
        addressed = await address(conn, alert, signal.people, now=now)
        return Outcome("deduplicated" if addressed is alert else "addressed", alert.id, addressed.status.value)
    alert = await raise_alert(conn, ctx, signal, source=source, producer=producer, sequence=sequence, now=now)
    return Outcome("raised", alert.id, alert.status.value)


async def raise_alert(conn: asyncpg.Connection, ctx: AlertsContext, signal: AlertSignalV1, *, source: str,
                      producer: str, sequence: int | None, now: datetime) -> Alert:
    """A new alert where its signal places it (``places``), its policy frozen onto it, announced, and its climb
    started."""
    where = await place_of(conn, unit_id=signal.unit_id, area=signal.area, place=signal.place,
                           place_name=signal.place_name, unit_name=signal.unit_name)
    policy = freeze(await policies.policy_for(conn, kind=signal.kind, unit_id=signal.unit_id, area=signal.area,
                                              township=where.ladder_township, source=source),
                    unit_id=signal.unit_id, area=signal.area, place=where.place, township=where.ladder_township,
                    people=signal.people)
    alert = await store.insert(
        conn, alert_id=str(uuid.uuid4()), dedup_key=signal.dedup_key, kind=signal.kind,
        severity=signal.severity.value, summary=signal.summary, unit_id=signal.unit_id, area=signal.area,
        source=signal.source.model_dump(mode="json"), policy=policy.as_json(), at=now, where=where)
    await timeline.record(conn, alert.id, "raised", now, {
        "policy": policy.id, "policy_name": policy.name, "source": source, "producer": producer, "sequence": sequence,
        "occurred_at": signal.occurred_at.isoformat(), "summary": signal.summary, "place": where.place,
        "township": where.township, **({} if where.known or signal.place is None else {
            "unknown_place": signal.place})})
    nowhere = leads_nowhere(policy)
    if nowhere:
        await timeline.record(conn, alert.id, "leads-nowhere", now, {"policy": policy.id, "problems": nowhere})
    await escalation.publish(conn, ctx, alert, [AlertRaisedV1(**escalation.lifecycle(alert, now),
                                                              severity=signal.severity, summary=signal.summary,
                                                              policy=policy.id)])
    return await escalation.start_climb(conn, ctx, alert, now=now)


async def address(conn: asyncpg.Connection, alert: Alert, people: list[str], *, now: datetime) -> Alert:
    """A locked open alert addressed to ``people`` too: its frozen ladder widened, and those the step it stands
    at gains told now (as that step's notification: its idempotency key names the target, so only the new people
    hear it). The alert unchanged when it addresses them all already."""
    widened, told = alert.addressed_to(people, now)
    if widened is alert:
        return alert
    alert = await store.save_policy(conn, widened)
    await timeline.record(conn, alert.id, "addressed", now, {"people": list(dict.fromkeys(people)),
                                                             "now_told": list(told)})
    position, step = alert.position, alert.step
    if position is not None and step is not None and told:
        alert = await escalation.notify(conn, alert, event=step_event(position), position=position, step=step,
                                        targets=told, now=now)
    return alert
