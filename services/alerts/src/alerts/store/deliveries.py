"""SQL of the delivery tables: inserting notifications, bundling due ones into messages, claiming messages,
recording results, and what the auditor and the gauges count.

Every claim uses ``FOR UPDATE SKIP LOCKED`` and flips the message to ``sending`` before it commits, so two
replicas never take the same message; a message left in ``sending`` past its deadline (its sender died) is
due again for anyone.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from alerts.domain.delivery import bundles

# Wakes the delivery workers of every replica when a transaction that added notifications commits.
WAKE_CHANNEL = "alerts_delivery"

# A (recipient, channel) group is ready (leading-edge bundling, the window counted on the service's clock):
#  - when nothing went to that recipient on that channel within the window: a lone notification leaves at once;
#  - else once its oldest has waited the window, or once the last message to it is a window old: what came within
#    the window after a message leaves together at the window's end;
#  - or once it holds ``most``.
_BUNDLE_CANDIDATES = """
WITH ready AS (
    SELECT d.recipient, d.channel
      FROM deliveries d
     WHERE d.message_id IS NULL AND d.due_at <= $1
     GROUP BY d.recipient, d.channel
    HAVING min(d.due_at) <= $2 OR count(*) >= $3 OR NOT EXISTS (
           SELECT 1 FROM delivery_messages m
            WHERE m.recipient = d.recipient AND m.channel = d.channel AND m.created_at > $2)
     ORDER BY min(d.due_at)
     LIMIT $4
)
SELECT d.id, d.idempotency_key, d.recipient, d.channel, d.due_at
  FROM deliveries d JOIN ready r ON r.recipient = d.recipient AND r.channel = d.channel
 WHERE d.message_id IS NULL AND d.due_at <= $1
 ORDER BY d.recipient, d.channel, d.due_at, d.id
   FOR UPDATE OF d SKIP LOCKED
"""

# When the earliest group still held back becomes ready (``_BUNDLE_CANDIDATES`` solved for the moment): its oldest
# notification's due time, or a window after the earlier of that and its last message. NULL when nothing waits.
_NEXT_RELEASE = """
SELECT min(greatest(p.first_due, least(p.first_due + $1::interval, coalesce(
           (SELECT max(m.created_at) FROM delivery_messages m
             WHERE m.recipient = p.recipient AND m.channel = p.channel) + $1::interval, p.first_due))))
  FROM (SELECT recipient, channel, min(due_at) AS first_due FROM deliveries
         WHERE message_id IS NULL GROUP BY 1, 2) p
"""

_INSERT_MESSAGES = """
INSERT INTO delivery_messages (idempotency_key, recipient, channel, status, next_attempt_at, first_due_at,
                               created_at)
SELECT k, r, c, 'pending', $4, f, $4 FROM unnest($1::text[], $2::text[], $3::text[], $5::timestamptz[]) AS v(k, r, c, f)
RETURNING id, idempotency_key
"""

# Bundling runs on one replica at a time (the others skip their turn): whether something went to a recipient within
# the window is then read after the last bundling committed, so two replicas never both send a "first" message.
_BUNDLING_LOCK = "SELECT pg_try_advisory_xact_lock(hashtext('alerts.delivery.bundle'))"


def bundle_key(keys: Sequence[str]) -> str:
    """A single notification keeps its own key; a bundle's key is derived from its members'."""
    if len(keys) == 1:
        return keys[0]
    return "b-" + hashlib.sha256("\x1f".join(sorted(keys)).encode()).hexdigest()[:40]


async def bundle_due(conn: asyncpg.Connection, now: datetime, *, window: timedelta, most: int,
                     groups: int) -> int:
    """Put due notifications into messages, in at most ``groups`` (recipient, channel) groups of them, each
    in messages of at most ``most`` (``_BUNDLE_CANDIDATES`` says when a group is ready). Three statements
    whatever the number of messages; returns how many messages were made."""
    if not await conn.fetchval(_BUNDLING_LOCK):
        return 0  # another replica is bundling right now; its messages are anyone's to claim
    rows = await conn.fetch(_BUNDLE_CANDIDATES, now, now - window, most, groups)
    grouped: dict[tuple[str, str], list[asyncpg.Record]] = {}
    for row in rows:
        grouped.setdefault((row["recipient"], row["channel"]), []).append(row)
    made: list[tuple[str, str, str, datetime, list[int]]] = []
    for (recipient, channel), members in grouped.items():
        for bundle in bundles(members, most):
            made.append((bundle_key([m["idempotency_key"] for m in bundle]), recipient, channel,
                         min(m["due_at"] for m in bundle), [m["id"] for m in bundle]))
    if made:
        ids = {r["idempotency_key"]: r["id"] for r in await conn.fetch(
            _INSERT_MESSAGES, [m[0] for m in made], [m[1] for m in made], [m[2] for m in made], now,
            [m[3] for m in made])}
        pairs = [(member, ids[m[0]]) for m in made for member in m[4]]
        await conn.execute(
            "UPDATE deliveries d SET message_id = v.m, status = 'bundled'"
            " FROM unnest($1::bigint[], $2::bigint[]) AS v(id, m) WHERE d.id = v.id",
            [p[0] for p in pairs], [p[1] for p in pairs])
    return len(made)


async def next_release(conn: asyncpg.Connection, window: timedelta) -> datetime | None:
    """When the earliest notification held back by ``bundle_due`` becomes ready; None when none waits. Asked when a
    round found nothing to do (it reads every waiting group)."""
    due: datetime | None = await conn.fetchval(_NEXT_RELEASE, window)
    return due


@dataclass(frozen=True)
class Claimed:
    message_id: int
    idempotency_key: str
    recipient: str
    channel: str
    attempt: int
    claim_token: uuid.UUID
    first_due_at: datetime
    notifications: list[dict[str, Any]]
    attempt_base: int = 0  # the attempts it had when last re-sent: its budget counts from here

    @property
    def budget_used(self) -> int:
        """Attempts since the message was made or last re-sent (this one included)."""
        return self.attempt - self.attempt_base


_CANDIDATES = """
SELECT id, channel, status, attempts, attempt_base
  FROM delivery_messages
 WHERE ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND sending_deadline <= $1))
   AND channel <> ALL($3::text[])
 ORDER BY coalesce(sending_deadline, next_attempt_at), id
 LIMIT $2
   FOR UPDATE SKIP LOCKED
"""

NOTIFICATION_COLUMNS = ("id, idempotency_key, alert_id, dedup_key, kind, severity, summary, unit_id, area, places, "
                        "event, step_index, step_label, loop, target, recipient, channel, link, due_at, message_id")


async def claim_candidates(conn: asyncpg.Connection, now: datetime, limit: int, *,
                           skip_channels: Sequence[str] = ()) -> list[asyncpg.Record]:
    return await conn.fetch(_CANDIDATES, now, limit, list(skip_channels))


async def lock_channel_budget(conn: asyncpg.Connection, channel: str) -> None:
    """Serialises the rate-limit count of one channel across replicas until this transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('alerts.delivery.rate:' || $1))", channel)


async def started_since(conn: asyncpg.Connection, channel: str, since: datetime) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM delivery_attempts a JOIN delivery_messages m ON m.id = a.message_id"
        " WHERE m.channel = $1 AND a.started_at > $2", channel, since)
    return int(value)


async def take_back(conn: asyncpg.Connection, message_ids: Sequence[int], now: datetime) -> None:
    """The attempts of messages found in ``sending`` past their deadline end as taken back."""
    await conn.execute(
        "UPDATE delivery_attempts a SET finished_at = $2, outcome = 'taken-back',"
        " detail = 'still sending at its deadline; taken back' FROM delivery_messages m"
        " WHERE m.id = a.message_id AND a.message_id = ANY($1) AND a.attempt = m.attempts AND a.outcome IS NULL",
        list(message_ids), now)


async def mark_sending(conn: asyncpg.Connection, message_ids: Sequence[int], now: datetime,
                       deadline: datetime, *, new_attempt: bool = True) -> list[Claimed]:
    """Claim the messages: ``sending`` until ``deadline`` under a fresh claim token, as a new attempt (or, for
    a message only to be failed, under its last attempt)."""
    rows = await conn.fetch(
        "UPDATE delivery_messages SET status = 'sending', attempts = attempts + $3::int, sending_deadline = $2,"
        " claim_token = gen_random_uuid() WHERE id = ANY($1)"
        " RETURNING id, idempotency_key, recipient, channel, attempts, attempt_base, claim_token, first_due_at",
        list(message_ids), deadline, 1 if new_attempt else 0)
    if not rows:
        return []
    if new_attempt:
        await conn.executemany(
            "INSERT INTO delivery_attempts (message_id, attempt, started_at) VALUES ($1, $2, $3)",
            [(r["id"], r["attempts"], now) for r in rows])
    notifications = await conn.fetch(
        f"SELECT {NOTIFICATION_COLUMNS} FROM deliveries WHERE message_id = ANY($1) ORDER BY due_at, id",
        [r["id"] for r in rows])
    by_message: dict[int, list[dict[str, Any]]] = {}
    for n in notifications:
        by_message.setdefault(n["message_id"], []).append(dict(n))
    return [
        Claimed(message_id=r["id"], idempotency_key=r["idempotency_key"], recipient=r["recipient"],
                channel=r["channel"], attempt=r["attempts"], claim_token=r["claim_token"],
                first_due_at=r["first_due_at"], notifications=by_message.get(r["id"], []),
                attempt_base=r["attempt_base"])
        for r in rows
    ]


async def relaxed_commit(conn: asyncpg.Connection) -> None:
    """A result's transaction commits without waiting for its WAL flush. Safe here, and only here: a result lost
    in a crash leaves its message in ``sending`` under the claim (which was committed durably), so it is taken
    back at its deadline and sent again with the same idempotency key — the receiver drops the repeat — and the
    inbox row, dead letter, outbox event and timeline lines of that result were lost with it, all or nothing.
    Each send then costs no fsync of its own (measured: bench/alerts_latency.py)."""
    await conn.execute("SET LOCAL synchronous_commit TO off")


async def release_claim(conn: asyncpg.Connection, claimed: Claimed, *, status: str, now: datetime,
                        next_attempt_at: datetime | None = None, error: str | None = None) -> bool:
    """End the claim if it is still ours (a claim taken back after its deadline is not): the message goes to
    ``status``. Returns False when the claim was no longer ours and nothing changed."""
    final = status in ("sent", "delivered", "failed")
    changed = await conn.fetchval(
        "UPDATE delivery_messages SET status = $3, sending_deadline = NULL, claim_token = NULL,"
        " next_attempt_at = coalesce($4, next_attempt_at), last_error = coalesce($5, last_error),"
        " finished_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE NULL END"
        " WHERE id = $1 AND claim_token = $2 AND status = 'sending' RETURNING id",
        claimed.message_id, claimed.claim_token, status, next_attempt_at, error, final, now)
    if changed is None:
        return False
    if final:
        await conn.execute("UPDATE deliveries SET status = $2 WHERE message_id = $1", claimed.message_id, status)
    return True


async def finish_attempt(conn: asyncpg.Connection, claimed: Claimed, now: datetime, outcome: str,
                         detail: str | None) -> None:
    """The attempt's result; an attempt already ended (taken back) keeps what it said."""
    await conn.execute(
        "UPDATE delivery_attempts SET finished_at = $3, outcome = $4, detail = $5"
        " WHERE message_id = $1 AND attempt = $2 AND outcome IS NULL", claimed.message_id, claimed.attempt, now,
        outcome, detail)


async def dead_letter(conn: asyncpg.Connection, claimed: Claimed, reason: str, now: datetime) -> None:
    """A dead letter for the failed message; one of it still open (not re-sent) is kept as it is."""
    await conn.execute(
        "INSERT INTO delivery_dead_letters (message_id, idempotency_key, recipient, channel, attempts, last_error,"
        " alert_ids, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (message_id) WHERE resent_at IS NULL DO NOTHING",
        claimed.message_id, claimed.idempotency_key, claimed.recipient, claimed.channel, claimed.attempt, reason,
        sorted({n["alert_id"] for n in claimed.notifications}), now)


async def add_to_inbox(conn: asyncpg.Connection, claimed: Claimed, owner: str, title: str, body: str,
                       now: datetime) -> None:
    await conn.execute(
        "INSERT INTO inbox_messages (message_id, recipient, owner, title, body, alert_ids, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING",
        claimed.message_id, claimed.recipient, owner, title, body,
        list(dict.fromkeys(n["alert_id"] for n in claimed.notifications)), now)


_INSERT = """
INSERT INTO deliveries (idempotency_key, alert_id, dedup_key, kind, severity, summary, unit_id, area, event,
                        step_index, step_label, loop, target, recipient, channel, link, due_at, created_at, places)
SELECT k, a, d, kd, sv, sm, u, ar, ev, si, sl, lp, tg, rc, ch, ln, due, due, string_to_array(pl, ' ')
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::text[], $10::int[], $11::text[], $12::int[], $13::text[], $14::text[],
            $15::text[], $16::text[], $17::timestamptz[], $18::text[])
     AS v(k, a, d, kd, sv, sm, u, ar, ev, si, sl, lp, tg, rc, ch, ln, due, pl)
ON CONFLICT (idempotency_key) DO NOTHING
"""


async def insert_notifications(conn: asyncpg.Connection, columns: Sequence[Sequence[object]]) -> int:
    """Delivery rows, given column by column (the 18 of ``_INSERT``, the last the places joined by spaces: codes
    hold none); a row whose idempotency key exists is
    skipped. Returns how many were new, and wakes the workers (on commit) if any was."""
    status = await conn.execute(_INSERT, *columns)
    created = int(status.rsplit(" ", 1)[1])
    if created:
        # Wakes the delivery workers of every replica when the caller commits (polling covers a lost one).
        await conn.execute("SELECT pg_notify($1, '')", WAKE_CHANNEL)
    return created


@dataclass(frozen=True)
class TakenBack:
    """One notification of a message taken back from ``sending``."""

    alert_id: str
    message_id: int
    recipient: str
    channel: str
    attempts: int
    idempotency_key: str


async def taken_back(conn: asyncpg.Connection, message_ids: Sequence[int]) -> list[TakenBack]:
    rows = await conn.fetch(
        "SELECT d.alert_id, m.id, m.recipient, m.channel, m.attempts, m.idempotency_key FROM deliveries d"
        " JOIN delivery_messages m ON m.id = d.message_id WHERE m.id = ANY($1)", list(message_ids))
    return [TakenBack(r["alert_id"], r["id"], r["recipient"], r["channel"], r["attempts"], r["idempotency_key"])
            for r in rows]


@dataclass(frozen=True)
class StuckDelivery:
    message_id: int
    recipient: str
    channel: str
    attempts: int
    sending_deadline: datetime
    overdue: timedelta
    alert_ids: list[str]


async def stuck_deliveries(conn: asyncpg.Connection, now: datetime, bound: timedelta) -> list[StuckDelivery]:
    """Messages still in ``sending`` more than ``bound`` past their deadline: the worker should have taken them
    back by then, so none should exist; any that does means delivery is stalled (no worker running, or every
    one failing before it gets there)."""
    rows = await conn.fetch(
        "SELECT m.id, m.recipient, m.channel, m.attempts, m.sending_deadline,"
        " array(SELECT DISTINCT d.alert_id FROM deliveries d WHERE d.message_id = m.id ORDER BY 1) AS alert_ids"
        " FROM delivery_messages m WHERE m.status = 'sending' AND m.sending_deadline < $1"
        " ORDER BY m.sending_deadline, m.id", now - bound)
    return [StuckDelivery(message_id=r["id"], recipient=r["recipient"], channel=r["channel"],
                          attempts=r["attempts"], sending_deadline=r["sending_deadline"],
                          overdue=now - r["sending_deadline"], alert_ids=list(r["alert_ids"])) for r in rows]


@dataclass(frozen=True)
class Counts:
    """What the delivery gauges show."""

    messages: dict[tuple[str, str], int]  # (channel, status) → messages
    notifications_pending: int
    sending_overdue: int
    dead_letters: int  # open ones: failed and not re-sent


async def counts(conn: asyncpg.Connection, now: datetime) -> Counts:
    rows = await conn.fetch("SELECT channel, status, count(*) AS n FROM delivery_messages GROUP BY 1, 2")
    return Counts(
        messages={(r["channel"], r["status"]): r["n"] for r in rows},
        notifications_pending=await conn.fetchval("SELECT count(*) FROM deliveries WHERE message_id IS NULL"),
        sending_overdue=await conn.fetchval(
            "SELECT count(*) FROM delivery_messages WHERE status = 'sending' AND sending_deadline < $1", now),
        dead_letters=await conn.fetchval("SELECT count(*) FROM delivery_dead_letters WHERE resent_at IS NULL"))
