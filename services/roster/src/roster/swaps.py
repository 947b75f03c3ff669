"""Swaps and overrides on a published shift: a member asks to hand their shift to another member (own shifts only),
an organiser approves or refuses; or an organiser changes a crew directly (an override). Every change is checked
against the hard rules first (roster.domain.swaps) and refused with the reasons in words; an accepted change
replaces the crew, emits ``roster.shift-changed`` (the whole new state), moves the no-show checks and re-arms the
handoff reminder, in one transaction. A refusal (``NotFound``, ``Refused``) is the answer the caller gets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from pingan_shared import refused
from pingan_shared.messaging.outbox import enqueue
from roster import handoff, presence, shift_events, visibility
from roster.context import RosterContext
from roster.domain.problem import Absence
from roster.domain.swaps import HeldShift, SwapRequest, crew_violations, period_count_violation, taking_violations
from roster.facts import duty_facts, member_facts, period_rules
from roster.store import members as member_store
from roster.store import periods as period_store
from roster.store import shifts as store
from roster.store import swaps as swap_store

NO_SUCH_REQUEST = "没有该调班申请 (no such request)"


class NotFound(refused.NotFound):
    """No such shift (for a member: none it is on), or no such request (for a member: none of its own)."""

    @classmethod
    def shift(cls) -> NotFound:
        return cls(visibility.NO_SUCH_SHIFT, "shift_id")

    @classmethod
    def request(cls) -> NotFound:
        return cls(NO_SUCH_REQUEST)


class Refused(refused.Conflict):
    """The change breaks hard rules (``reasons``, in words) or does not apply (``field`` says what is wrong): 409,
    the reasons in words."""

    def __init__(self, field: str, reasons: list[str]) -> None:
        super().__init__("；".join(reasons), field if field in ("shift_id", "request_id") else f"body.{field}")
        self.reasons = reasons


@dataclass(frozen=True)
class Changed:
    shift_id: str
    member_ids: list[str]
    roster_version: int


async def _check(conn: asyncpg.Connection, shift: asyncpg.Record, crew: list[str], removed: str | None,
                 added: str | None) -> list[str]:
    """The hard rules the new crew would break (empty: none)."""
    period = await period_store.get_period(conn, shift["period_id"])
    rules = period_rules(period)
    duty = duty_facts(await period_store.get_duty(conn, shift["period_id"], shift["duty_id"]))
    new_crew = sorted({m for m in crew if m != removed} | ({added} if added else set()))
    rows = {r["member_id"]: r for r in await member_store.members_by_ids(conn, new_crew)}
    reasons: list[str] = []
    if added is not None:
        incoming = rows.get(added)
        if incoming is None or not incoming["active"]:
            raise Refused("to_member_id", ["没有该队员或该队员已停用 (no such active member)"])
        member = member_facts(incoming)
        span = timedelta(days=7)
        held = []
        for h in await store.held_shifts(conn, added, shift["day"] - span, shift["day"] + span):
            facts = duty_facts(await period_store.get_duty(conn, h["period_id"], h["duty_id"]))
            held.append(HeldShift(h["shift_id"], h["day"], facts))
        absences = [Absence(u["member_id"], u["from_day"], u["to_day"], u["reason"])
                    for u in await member_store.get_unavailability(conn, [added])]
        reasons += taking_violations(member, HeldShift(shift["shift_id"], shift["day"], duty), held, absences, rules)
        over = period_count_violation(member, await store.period_count(conn, added, shift["period_id"]), rules)
        if over:
            reasons.append(over)
    orgs = await member_store.org_names(conn, [r["org_id"] for r in rows.values()])
    reasons += crew_violations(duty, [member_facts(rows[m]) for m in new_crew if m in rows], orgs)
    return reasons


async def _apply(conn: asyncpg.Connection, ctx: RosterContext, shift: asyncpg.Record, crew: list[str],
                 removed: str | None, added: str | None, source: str, reason: str, by: str,
                 request_id: str | None) -> Changed:
    new_crew = sorted({m for m in crew if m != removed} | ({added} if added else set()))
    version = shift["roster_version"]
    now = ctx.now()
    await store.replace_assignees(conn, shift["shift_id"], new_crew, version, source, now)
    await store.touch(conn, shift["shift_id"], now)
    await swap_store.record_override(conn, f"O-{uuid.uuid4().hex[:12]}", shift["shift_id"], removed=removed,
                                     added=added, request_id=request_id, reason=reason, by=by, now=now)
    await enqueue(conn, [shift_events.changed(ctx, shift, new_crew, version, reason)])
    await presence.schedule_checks(conn, ctx, [shift["shift_id"]])
    await handoff.arm(conn, ctx, [shift["shift_id"]])
    return Changed(shift["shift_id"], new_crew, version)


async def _published_shift(conn: asyncpg.Connection, ctx: RosterContext, shift_id: str,
                           viewer: str | None = None) -> tuple[asyncpg.Record, list[str]]:
    """The shift, locked, and its crew; for a member (``viewer``) only a shift it is on (``roster.visibility``):
    another's is not found, before its state is judged."""
    shift = await store.get_shift(conn, shift_id, lock=True)
    if shift is None:
        raise NotFound.shift()
    crew = (await store.assignees(conn, [shift_id]))[shift_id]
    if not visibility.sees_crew(viewer, crew):
        raise NotFound.shift()
    if shift["status"] != "published":
        raise Refused("shift_id", ["该班次未发布或已取消 (the shift is not on a published roster)"])
    if shift["starts_at"] <= ctx.now():
        # its crew is what attendance and no-shows judge now: changing it afterwards would rewrite the record
        raise Refused("shift_id", ["该班次已开始，不能再调换 (the shift has started)"])
    return shift, crew


async def request_swap(conn: asyncpg.Connection, ctx: RosterContext, shift_id: str, from_member_id: str | None,
                       to_member_id: str | None, note: str, requested_by: str, *, viewer: str | None = None) -> str:
    """A pending request; a named replacement is checked at once (the member learns early why not). A member
    (``viewer``) asks only for a shift it is on: any other is not found."""
    shift, crew = await _published_shift(conn, ctx, shift_id, viewer)
    if from_member_id is None:
        raise Refused("from_member_id", ["请指定申请调班的队员 (name from_member_id)"])
    if from_member_id not in crew:
        raise Refused("from_member_id", ["该队员不在此班次上 (the member is not on this shift)"])
    if to_member_id is not None:
        if to_member_id in crew:
            raise Refused("to_member_id", ["对方已在此班次上 (already on this shift)"])
        reasons = await _check(conn, shift, crew, from_member_id, to_member_id)
        if reasons:
            raise Refused("to_member_id", reasons)
    pending = await swap_store.pending_request(conn, shift_id, from_member_id)
    if pending is not None:
        raise Refused("shift_id", [f"已有待审批的调班申请 {pending} (a request is pending)"])
    request_id = f"S-{uuid.uuid4().hex[:12]}"
    await swap_store.insert_request(conn, request_id, shift_id, from_member_id, to_member_id, note, requested_by,
                                    ctx.now())
    return request_id


async def decide(conn: asyncpg.Connection, ctx: RosterContext, request_id: str, *, approve: bool,
                 to_member_id: str | None, reason: str, by: str) -> Changed | None:
    """Approve (checked against the hard rules; a refusal leaves the request pending) or refuse a request."""
    request = await swap_store.request_for_update(conn, request_id)
    if request is None:
        raise NotFound.request()
    if request.status != "pending":
        raise Refused("request_id", [f"该申请已处理（{request.status}） (the request was decided already)"])
    now = ctx.now()
    if not approve:
        await swap_store.decide_request(conn, request_id, status="refused", to_member_id=None, by=by, now=now,
                                        reason=reason)
        return None
    incoming = to_member_id or request.to_member_id
    if incoming is None:
        raise Refused("to_member_id", ["请指定接班队员 (name the member who takes the shift)"])
    shift, crew = await _published_shift(conn, ctx, request.shift_id)
    if request.from_member_id not in crew:
        raise Refused("request_id", ["申请人已不在此班次上 (the requester is no longer on the shift)"])
    if incoming in crew:
        raise Refused("to_member_id", ["对方已在此班次上 (already on this shift)"])
    reasons = await _check(conn, shift, crew, request.from_member_id, incoming)
    if reasons:
        raise Refused("to_member_id", reasons)
    await swap_store.decide_request(conn, request_id, status="approved", to_member_id=incoming, by=by, now=now,
                                    reason=reason)
    return await _apply(conn, ctx, shift, crew, request.from_member_id, incoming, "swap",
                        f"调班：{request.from_member_id} → {incoming}" + (f"（{reason}）" if reason else ""), by,
                        request_id)


async def withdraw(conn: asyncpg.Connection, ctx: RosterContext, request_id: str, member_id: str) -> None:
    """The member who asked takes a pending request back."""
    request = await swap_store.request_for_update(conn, request_id)
    if request is None or request.from_member_id != member_id:
        raise NotFound.request()
    if request.status != "pending":
        raise Refused("request_id", [f"该申请已处理（{request.status}） (the request was decided already)"])
    await swap_store.decide_request(conn, request_id, status="withdrawn", to_member_id=None, by=member_id,
                                    now=ctx.now(), reason=None)


async def override(conn: asyncpg.Connection, ctx: RosterContext, shift_id: str, *, remove: str | None,
                   add: str | None, reason: str, by: str) -> Changed:
    """An organiser's direct change of a crew, checked like a swap."""
    shift, crew = await _published_shift(conn, ctx, shift_id)
    if remove is None and add is None:
        return Changed(shift_id, crew, shift["roster_version"])
    if remove is not None and remove not in crew:
        raise Refused("remove_member_id", ["该队员不在此班次上 (the member is not on this shift)"])
    if add is not None and add in crew:
        raise Refused("add_member_id", ["该队员已在此班次上 (already on this shift)"])
    reasons = await _check(conn, shift, crew, remove, add)
    if reasons:
        raise Refused("add_member_id" if add else "remove_member_id", reasons)
    return await _apply(conn, ctx, shift, crew, remove, add, "override",
                        f"组织者调整：{remove or '—'} → {add or '—'}" + (f"（{reason}）" if reason else ""), by, None)


async def requests(ctx: RosterContext, *, status: str | None, member_id: str | None, after: str | None,
                   limit: int) -> list[SwapRequest]:
    """Swap requests in id order: all of them, or those a member made or is named in (``member_id``)."""
    async with ctx.runtime.connection() as conn:
        return await swap_store.list_requests(conn, status=status, member_id=member_id, after=after, limit=limit)
