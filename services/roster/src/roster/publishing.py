"""Publishing a draft roster: it becomes the period's next roster version, in one transaction with its events.

A shift published for the first time emits ``roster.shift-assigned``; a published shift whose crew the new version
changes emits ``roster.shift-changed`` (its whole new state); a published shift the new version leaves empty emits
``roster.shift-cancelled``; an unchanged shift emits nothing. Publishing the same draft again changes nothing and
emits nothing (it answers the version it became). The no-show checks and handoff reminders of every touched shift
are armed (or cancelled) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from pingan_shared.messaging.outbox import enqueue
from roster import handoff, presence, shift_events
from roster.context import RosterContext
from roster.store import jobs as job_store
from roster.store import shifts as store


class DraftNotFound(Exception):
    pass


class DraftStale(Exception):
    """The period's roster changed (a publish, a swap, an override) after the draft was made: publishing it would
    undo those changes. Solve again (a re-plan keeps them)."""


@dataclass(frozen=True)
class Published:
    period_id: str
    version: int
    assigned: int
    changed: int
    cancelled: int
    unchanged: int
    repeated: bool


async def publish(conn: asyncpg.Connection, ctx: RosterContext, draft_id: str) -> Published:
    """Call inside a transaction."""
    draft = await job_store.get_draft(conn, draft_id, lock=True)
    if draft is None:
        raise DraftNotFound(draft_id)
    period_id = draft["period_id"]
    period = await conn.fetchrow("SELECT published_version FROM periods WHERE period_id = $1 FOR UPDATE", period_id)
    if draft["published_as"] is not None:
        return Published(period_id, draft["published_as"], 0, 0, 0, 0, repeated=True)
    last_change = await conn.fetchval(
        "SELECT max(set_at) FROM overrides o JOIN shifts s USING (shift_id) WHERE s.period_id = $1", period_id)
    last_publish = await conn.fetchval(
        "SELECT max(published_at) FROM roster_drafts WHERE period_id = $1", period_id)
    if any(at is not None and at > draft["created_at"] for at in (last_change, last_publish)):
        raise DraftStale(draft_id)
    version = period["published_version"] + 1
    now = ctx.now()
    shifts = await store.period_shifts(conn, period_id, lock=True)
    current = await store.assignees(conn, [s["shift_id"] for s in shifts])
    planned = await job_store.draft_assignments(conn, draft_id)
    outgoing = []
    touched: list[str] = []
    gone: list[str] = []
    counts = {"assigned": 0, "changed": 0, "cancelled": 0, "unchanged": 0}
    reason = f"重新排班（第{version}版）"
    for shift in shifts:
        sid = shift["shift_id"]
        crew = planned.get(sid, [])
        if shift["status"] == "cancelled":
            continue
        if shift["status"] == "planned":
            if not crew:
                continue
            await store.replace_assignees(conn, sid, crew, version, "solver", now)
            await store.set_state(conn, sid, "published", version, now)
            outgoing.append(shift_events.assigned(ctx, shift, crew, version))
            counts["assigned"] += 1
            touched.append(sid)
        elif sorted(crew) == sorted(current[sid]):
            counts["unchanged"] += 1
        elif crew:
            await store.replace_assignees(conn, sid, crew, version, "solver", now)
            await store.set_state(conn, sid, "published", version, now)
            outgoing.append(shift_events.changed(ctx, shift, crew, version, reason))
            counts["changed"] += 1
            touched.append(sid)
        else:
            await store.set_state(conn, sid, "cancelled", version, now)
            outgoing.append(shift_events.cancelled(ctx, shift, reason, now))
            counts["cancelled"] += 1
            gone.append(sid)
    await conn.execute("UPDATE periods SET published_version = $2 WHERE period_id = $1", period_id, version)
    await conn.execute("UPDATE roster_drafts SET published_as = $2, published_at = $3 WHERE draft_id = $1",
                       draft_id, version, now)
    if outgoing:
        await enqueue(conn, outgoing)
    await presence.schedule_checks(conn, ctx, touched)
    await presence.cancel_checks(conn, gone)
    await handoff.arm(conn, ctx, touched)
    return Published(period_id, version, counts["assigned"], counts["changed"], counts["cancelled"],
                     counts["unchanged"], repeated=False)
