"""Presence on shifts: scheduling the no-show checks when shifts are published, and recording presence from
accepted patrol scans and explicit check-ins.

How a scan finds its member: a patrol team's app sends its own member id (often a name, unique only within the
team). A roster member carries ``team_id`` and ``app_member_id`` (migration 0002): a scan of team T with app id A
is the member whose team is T and whose app id is A — or, for a member without an app id, whose member id is A;
a member of no team (a police officer walking with a village team) is known on the shifts that name team T.
The scan is presence on every published shift of that member whose window (``ROSTER_PRESENCE_EARLY_MINUTES``
before the start, to the end) holds the scan's device time — device time, so an offline batch synced hours later
still counts for the shift it was made on (patrol's ``corrected_time`` where the scan carries one: a phone whose
clock is wrong is judged by the server's clock). A scan that matches no member or no shift only counts in the daily
attendance tally (``roster.attendance``). Both run in the scan consumer's batch transaction (``roster.consumers``).

Every presence (the first or a later one) goes through ``_record``: it locks the member's presence row, keeps
the earliest moment, and, when the no-show already fired and was not resolved yet, sends the resolve signal once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg

from pingan_shared.events.alert_contracts import SignalAction
from pingan_shared.messaging.outbox import enqueue
from pingan_shared.refused import Conflict, Invalid, NotFound
from pingan_shared.timers import schedule_many
from roster import visibility
from roster.context import RosterContext
from roster.domain.attendance import ScanFacts, check_in_time, check_key, grace_until, presence_window
from roster.noshows import PRESENCE_CHECK, check_payload, grace, no_show_signal
from roster.store import presence as store


def scan_time(scan: ScanFacts) -> datetime:
    """When the scan happened: patrol's corrected time where the contract carries it (a phone whose clock is
    off is judged by the server's), else the device time."""
    corrected = getattr(scan, "corrected_time", None)
    return corrected if isinstance(corrected, datetime) else scan.device_time


def early(ctx: RosterContext) -> timedelta:
    return timedelta(minutes=ctx.settings.presence_early_minutes)


# --- the checks, armed and cancelled with the roster -----------------------------------------------------

async def schedule_checks(conn: asyncpg.Connection, ctx: RosterContext, shift_ids: Iterable[str]) -> None:
    """Bring the no-show checks of these shifts in line with the roster, inside the caller's (publish or change)
    transaction: one durable timer per member of a published shift at its start + grace (moved when the shift
    moved); the checks of members taken off, and of shifts no longer published, are cancelled. Idempotent:
    call it with every shift a transaction touched."""
    ids = sorted(set(shift_ids))
    if not ids:
        return
    rows = await store.shift_assignees(conn, ids)
    now = ctx.now()
    # A shift that had ended before it was published is a roster written after the fact: nobody could have
    # been told to come, so it is not checked (its presence is still recorded from scans and check-ins).
    on_roster = [(r["shift_id"], r["member_id"]) for r in rows
                 if r["status"] == "published" and r["member_id"] is not None and r["ends_at"] > now]
    due = {r["shift_id"]: grace_until(r["starts_at"], grace(ctx)) for r in rows}
    wanted = set(on_roster)
    gone = [(r["shift_id"], r["member_id"]) for r in await store.checked_members(conn, ids)
            if (r["shift_id"], r["member_id"]) not in wanted]
    # timers first, then presence rows: the lock order of store.presence
    await schedule_many(conn, [(PRESENCE_CHECK, check_key(s, m), due[s], check_payload(s, m)) for s, m in on_roster])
    await _cancel(conn, gone)
    await store.ensure_rows(conn, on_roster)
    await store.forget_untouched(conn, gone)
    # scans consumed before these members were on the shift (published late, swapped in)
    await store.backfill_from_tallies(conn, on_roster, early=early(ctx), zone=ctx.zone.key)


async def cancel_checks(conn: asyncpg.Connection, shift_ids: Iterable[str]) -> None:
    """Cancel every pending no-show check of these shifts (a shift cancelled or taken off the roster), inside the
    caller's transaction. A no-show that already fired stays on record."""
    ids = sorted(set(shift_ids))
    if not ids:
        return
    checked = [(r["shift_id"], r["member_id"]) for r in await store.checked_members(conn, ids)]
    await _cancel(conn, checked)
    await store.forget_untouched(conn, checked)


async def _cancel(conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]]) -> None:
    await store.cancel_timers(conn, PRESENCE_CHECK, [check_key(s, m) for s, m in pairs])


# --- presence --------------------------------------------------------------------------------------------

class Source(StrEnum):
    SCAN = "scan"
    CHECK_IN = "check-in"


@dataclass(frozen=True)
class Recorded:
    first: bool  # this was the member's first presence on the shift
    resolved: bool  # it resolved a no-show that had fired
    present_at: datetime


async def mark_scans(conn: asyncpg.Connection, ctx: RosterContext, scans: Iterable[ScanFacts]) -> int:
    """Presence from a batch of accepted scans, in the consumer's transaction (its inbox makes a redelivered
    scan a no-op; order does not matter: the earliest scan in the window wins). Returns the presences touched."""
    facts = [(s.team_id, s.member_id, scan_time(s)) for s in scans]
    matches = await store.scan_matches(conn, facts, early=early(ctx))
    for match in matches:
        await _record(conn, ctx, match["shift_id"], match["member_id"], at=match["first_at"], source=Source.SCAN,
                      scans=match["scans"])
    return len(matches)


async def check_in(
    conn: asyncpg.Connection, ctx: RosterContext, *, shift_id: str, member_id: str | None, by: str,
    by_organiser: bool, at: datetime | None = None,
) -> tuple[Recorded, dict[str, object]]:
    """An explicit check-in (签到) on a shift, in the caller's transaction. Idempotent: a second check-in keeps the
    first one's time and says it was not the first. An unknown shift is a 404 before anything about the body; so is,
    for a member (who checks in only themself), a shift it is not on (``roster.visibility``). Refusals:
    ``NotFound``, ``Invalid`` (the member), ``Conflict`` (the shift's state) and ``CheckInRefused`` (the time)."""
    if not await visibility.sees_shift(conn, shift_id, None if by_organiser else member_id):
        raise NotFound(visibility.NO_SUCH_SHIFT, "shift_id")
    if member_id is None:
        raise Invalid("请指明签到的队员 (member_id is required)", "body.member_id")
    shift = await store.shift_member(conn, shift_id, member_id)
    if shift is None:
        raise Invalid("没有这个队员 (no such member)", "body.member_id")
    if not shift["assigned"]:
        raise Invalid("该队员不在这个班次上 (the member is not on this shift)", "body.member_id")
    if shift["status"] != "published":
        raise Conflict("该班次未发布或已取消 (the shift is not published or was cancelled)")
    window = presence_window(shift["starts_at"], shift["ends_at"], early=early(ctx))
    moment = check_in_time(now=ctx.now(), at=at, window=window, by_organiser=by_organiser)
    recorded = await _record(conn, ctx, shift_id, member_id, at=moment, source=Source.CHECK_IN, checked_in_by=by)
    row = await store.presence_for_update(conn, shift_id, member_id)
    assert row is not None
    return recorded, dict(row)


async def _record(
    conn: asyncpg.Connection, ctx: RosterContext, shift_id: str, member_id: str, *, at: datetime, source: Source,
    scans: int = 0, checked_in_by: str | None = None,
) -> Recorded:
    await store.ensure_rows(conn, [(shift_id, member_id)])
    row = await store.presence_for_update(conn, shift_id, member_id)
    assert row is not None
    first = row["present_at"] is None
    earliest = at if first or at < row["present_at"] else row["present_at"]
    values: dict[str, object] = {"present_at": earliest, "scans": row["scans"] + scans,
                                 "source": source.value if earliest == at else row["source"]}
    if source is Source.CHECK_IN and row["checked_in_at"] is None:
        values.update(checked_in_at=at, checked_in_by=checked_in_by)
    now = ctx.now()
    resolves = row["no_show_at"] is not None and row["resolved_at"] is None
    if resolves:
        values["resolved_at"] = now
    await store.update_presence(conn, shift_id, member_id, **values)
    if resolves:
        shift = await store.shift_member(conn, shift_id, member_id)
        assert shift is not None
        await enqueue(conn, [await no_show_signal(conn, ctx, shift, action=SignalAction.RESOLVE, at=now)])
    if source is Source.CHECK_IN:
        first = row["checked_in_at"] is None  # a check-in answers for itself: a scan before it is no check-in
    return Recorded(first=first, resolved=resolves, present_at=earliest)


async def of_shift(ctx: RosterContext, shift_id: str, *, viewer: str | None = None) -> list[dict[str, object]]:
    """Everyone on the shift now with their presence record (None: not checked yet); an unknown shift is refused,
    and so, for a member (``viewer``), is a shift it is not on."""
    async with ctx.runtime.connection() as conn:
        if not await visibility.sees_shift(conn, shift_id, viewer):
            raise NotFound(visibility.NO_SUCH_SHIFT, "shift_id")
        return [dict(r) for r in await store.presence_of_shift(conn, shift_id)]
