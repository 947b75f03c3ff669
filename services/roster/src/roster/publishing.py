"""Publishing a draft roster: it becomes the period's next roster version, in one transaction with its events.

A shift published for the first time emits ``roster.shift-assigned``; a published shift whose crew the new version
changes emits ``roster.shift-changed`` (its whole new state); a published shift the new version leaves empty emits
``roster.shift-cancelled``; an unchanged shift emits nothing. Publishing the same draft again changes nothing and
emits nothing (it answers the version it became). The no-show checks and handoff reminders of every touched shift
are armed (or cancelled, a reminder already out resolved) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Conflict, NotFound
from roster import handoff, patrol_answers, presence, shift_events
from roster.context import RosterContext
from roster.store import jobs as job_store
from roster.store import periods as period_store
from roster.store import shifts as store
from roster.store import swaps as swap_store

NO_SUCH_DRAFT = "没有该排班草案 (no such draft)"


class DraftNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(NO_SUCH_DRAFT)


class DraftStale(Conflict):
    """The period's roster changed (a publish, a swap, an override) after the draft was made: publishing it would
    undo those changes. Solve again (a re-plan keeps them)."""

    def __init__(self) -> None:
        super().__init__("草案生成后排班已有变动（发布、调班或调整），请重新求解 "
                         "(the roster changed since this draft was made: solve again)", "draft_id")


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
        raise DraftNotFound()
    period_id = draft["period_id"]
    period = await period_store.get_period(conn, period_id, lock=True)
    assert period is not None  # a draft's period (ON DELETE CASCADE)
    if draft["published_as"] is not None:
        return Published(period_id, draft["published_as"], 0, 0, 0, 0, repeated=True)
    last_change = await swap_store.last_change(conn, period_id)
    last_publish = await job_store.last_publish(conn, period_id)
    if any(at is not None and at > draft["created_at"] for at in (last_change, last_publish)):
        raise DraftStale()
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
    await period_store.set_published_version(conn, period_id, version)
    await job_store.mark_published(conn, draft_id, version, now)
    if outgoing:
        await enqueue(conn, outgoing)
    await presence.schedule_checks(conn, ctx, touched)
    await presence.cancel_checks(conn, gone)
    await patrol_answers.on_cancelled(conn, ctx, gone)
    await handoff.on_cancelled(conn, ctx, gone)
    await handoff.arm(conn, ctx, touched)
    return Published(period_id, version, counts["assigned"], counts["changed"], counts["cancelled"],
                     counts["unchanged"], repeated=False)
