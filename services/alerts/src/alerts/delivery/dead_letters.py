"""Delivery dead letters, for admins: read them, and re-send one — or every open one a filter matches, after an
outage of a receiver.

A re-send puts the failed message back to pending, due now, with a fresh attempt budget (its attempts keep their
numbers; the worker counts the budget from the re-send) and the SAME idempotency key, so a receiver that did get an
earlier attempt drops the repeat. It marks the dead letter re-sent (when, by whom) and writes ``delivery-resent`` on
the timeline of each alert the message carries, in one transaction. Re-sending a dead letter already re-sent
changes nothing and answers the same. The message goes where its recipient's contact says today: a contact since
removed (or left without the channel) is refused with 409 — put the contact back, then re-send.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg
from fastapi.encoders import jsonable_encoder

from alerts.context import AlertsContext
from alerts.domain.delivery import resend_refusal
from alerts.places import canonical_target
from alerts.store import dead_letters as store
from alerts.store import timeline
from alerts.store.contacts import load as load_contacts
from alerts.store.dead_letters import DeadLetter, Filter
from pingan_shared.http.paging import Page, page_of
from pingan_shared.refused import Conflict, NotFound

__all__ = ["DeadLetterNotFound", "Filter", "ResendRefused", "page", "resend", "resend_matching"]


class DeadLetterNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("死信不存在 (no such dead letter)", "dead_letter_id")


class ResendRefused(Conflict):
    """The dead letter cannot be re-sent as things stand (its recipient's contact was removed)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, "dead_letter_id")


def letter_json(letter: DeadLetter) -> dict[str, Any]:
    body: dict[str, Any] = jsonable_encoder({
        "id": letter.id, "status": "open" if letter.resent_at is None else "resent",
        "message_id": letter.message_id, "message_status": letter.message_status,
        "recipient": letter.recipient, "channel": letter.channel, "attempts": letter.attempts,
        "reason": letter.reason, "failed_at": letter.failed_at, "idempotency_key": letter.idempotency_key,
        "resent_at": letter.resent_at, "resent_by": letter.resent_by, "notifications": letter.notifications,
    })
    return body


async def _canonical(conn: asyncpg.Connection, which: Filter) -> Filter:
    """A recipient named as the contacts directory stores it (``unit:塘下镇`` → its code)."""
    if which.recipient is None:
        return which
    return replace(which, recipient=await canonical_target(conn, which.recipient))


async def page(ctx: AlertsContext, which: Filter, *, limit: int, after: int | None) -> Page[dict[str, Any]]:
    """Dead letters in the order they failed, ``limit`` at a time after ``after``."""
    async with ctx.runtime.connection() as conn:
        found = await store.page(conn, await _canonical(conn, which), limit=limit, after=after)
    return page_of([letter_json(letter) for letter in found], limit, lambda item: int(item["id"]))


async def _resend(conn: asyncpg.Connection, dead_letter_id: int, *, by: str, now: datetime) -> tuple[DeadLetter, bool]:
    """Re-send one dead letter in the caller's transaction: it as it is now, and whether this call re-sent it."""
    letter = await store.lock(conn, dead_letter_id)
    if letter is None:
        raise DeadLetterNotFound()
    if letter.resent_at is not None:
        return letter, False  # already re-sent (by this request before, or another): nothing more to do
    contact = (await load_contacts(conn, [letter.recipient])).get(letter.recipient)
    refusal = resend_refusal(contact, letter.channel)
    if refusal is not None:
        raise ResendRefused(refusal)
    await store.resend(conn, letter, by=by, now=now)
    await timeline.record_many(conn, [
        (n["alert_id"], "delivery-resent", now, {
            "dead_letter_id": letter.id, "message_id": letter.message_id, "recipient": letter.recipient,
            "channel": letter.channel, "target": n["target"], "step": n["step"],
            "idempotency_key": letter.idempotency_key, "attempts_before": letter.attempts, "by": by})
        for n in letter.notifications])
    resent = await store.get(conn, dead_letter_id)
    assert resent is not None
    return resent, True


async def resend(ctx: AlertsContext, dead_letter_id: int, *, by: str) -> dict[str, Any]:
    """Re-send one dead letter; answers it (``status`` resent, ``resent_at``, ``resent_by``)."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        letter, _ = await _resend(conn, dead_letter_id, by=by, now=ctx.now())
    return letter_json(letter)


async def resend_matching(ctx: AlertsContext, which: Filter, *, by: str) -> dict[str, Any]:
    """Re-send every open dead letter ``which`` matches, each in its own transaction (one that cannot be re-sent
    is listed under ``skipped`` with the reason and holds up none of the others)."""
    async with ctx.runtime.connection() as conn:
        ids = await store.matching_ids(conn, replace(await _canonical(conn, which), open=True))
        resent: list[int] = []
        skipped: list[dict[str, Any]] = []
        for dead_letter_id in ids:
            try:
                async with conn.transaction():
                    _, changed = await _resend(conn, dead_letter_id, by=by, now=ctx.now())
            except ResendRefused as refused:
                skipped.append({"id": dead_letter_id, "reason": refused.detail})
                continue
            if changed:
                resent.append(dead_letter_id)
    return {"resent": len(resent), "ids": resent, "skipped": skipped}
