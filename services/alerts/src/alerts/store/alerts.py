"""Alerts (``domain.alert.Alert`` out) and their acknowledgements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from alerts.domain.alert import Alert
from alerts.domain.place import AlertPlace
from alerts.domain.policy import Policy

# The one durable timer of an alert (key: alert id), due at its next escalation or reminder (alerts.timers).
ALERT_DUE = "alert-due"

_INSERT = """
INSERT INTO alerts (id, dedup_key, kind, severity, summary, unit_id, area, source, status, policy, raised_at,
                    updated_at, place, places, township, place_name, unit_name)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $10, $11, $12, $13, $14, $15) RETURNING *
"""

# What a change of state writes: every mutable column, from the alert as the domain left it (the row is locked).
_SAVE = """
UPDATE alerts a SET status = v.status, current_step = v.current_step, loop = v.loop,
    step_fired_at = v.step_fired_at, next_escalation_at = v.next_escalation_at,
    next_reminder_at = v.next_reminder_at, held_since = v.held_since, acknowledged_at = v.acknowledged_at,
    acknowledged_by = v.acknowledged_by, resolved_at = v.resolved_at, resolved_by = v.resolved_by,
    resolve_reason = v.resolve_reason, updated_at = v.updated_at
FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
            $8::timestamptz[], $9::timestamptz[], $10::text[], $11::timestamptz[], $12::text[], $13::text[],
            $14::timestamptz[])
    AS v(id, status, current_step, loop, step_fired_at, next_escalation_at, next_reminder_at, held_since,
         acknowledged_at, acknowledged_by, resolved_at, resolved_by, resolve_reason, updated_at)
WHERE a.id = v.id RETURNING a.id
"""


def _alert(row: asyncpg.Record | None) -> Alert | None:
    return None if row is None else Alert.from_row(row)


async def insert(conn: asyncpg.Connection, *, alert_id: str, dedup_key: str, kind: str, severity: str, summary: str,
                 unit_id: str | None, area: str | None, source: Mapping[str, Any], policy: Mapping[str, Any],
                 at: datetime, where: AlertPlace) -> Alert:
    row = await conn.fetchrow(_INSERT, alert_id, dedup_key, kind, severity, summary, unit_id, area, dict(source),
                              dict(policy), at, where.place, list(where.places), where.township, where.place_name,
                              where.unit_name)
    return Alert.from_row(row)


async def lock(conn: asyncpg.Connection, alert_id: str) -> Alert | None:
    """The alert, locked for a change. Its timer's row is locked first: the timer runner holds that row before
    its handler locks the alert, so every writer takes the two in that one order (no deadlock)."""
    await conn.execute("SELECT 1 FROM timers WHERE kind = $1 AND timer_key = $2 FOR UPDATE", ALERT_DUE, alert_id)
    return _alert(await conn.fetchrow("SELECT * FROM alerts WHERE id = $1 FOR UPDATE", alert_id))


async def lock_many(conn: asyncpg.Connection, alert_ids: Sequence[str]) -> dict[str, Alert]:
    """Alerts whose timers the timer runner holds (a batch of due ``alert-due`` timers), locked in id order:
    the same order as ``lock`` (timer row, then alert row), so no deadlock with a request on one of them."""
    rows = await conn.fetch("SELECT * FROM alerts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
                            list(alert_ids))
    return {row["id"]: Alert.from_row(row) for row in rows}


async def save(conn: asyncpg.Connection, alert: Alert) -> Alert:
    """Write a locked alert's state as the domain left it; the alert as stored."""
    return (await save_many(conn, [alert]))[alert.id]


async def save_many(conn: asyncpg.Connection, alerts: Sequence[Alert]) -> dict[str, Alert]:
    """``save`` for many locked alerts in one statement."""
    if not alerts:
        return {}
    columns: list[list[Any]] = [[] for _ in range(14)]
    for a in alerts:
        values = (a.id, a.status.value, a.current_step, a.loop, a.step_fired_at, a.next_escalation_at,
                  a.next_reminder_at, a.held_since, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
                  a.resolved_by, a.resolve_reason, a.updated_at)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    # The row is the alert as written: returning the domain's own values spares decoding every saved row again
    # (its frozen policy and source are JSON; a batch of due steps saves thousands).
    saved = {row["id"] for row in await conn.fetch(_SAVE, *columns)}
    return {a.id: a for a in alerts if a.id in saved}


async def save_policy(conn: asyncpg.Connection, alert: Alert) -> Alert:
    """Write a locked alert's frozen policy as the domain widened it (``Alert.addressed_to``)."""
    row = await conn.fetchrow("UPDATE alerts SET policy = $2, updated_at = $3 WHERE id = $1 RETURNING *",
                              alert.id, alert.policy.as_json(), alert.updated_at)
    return Alert.from_row(row)


async def open_for_key(conn: asyncpg.Connection, dedup_key: str) -> Alert | None:
    return _alert(await conn.fetchrow("SELECT * FROM alerts WHERE dedup_key = $1 AND status <> 'resolved'",
                                      dedup_key))


async def get(conn: asyncpg.Connection, alert_id: str) -> Alert | None:
    return _alert(await conn.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id))


async def page(conn: asyncpg.Connection, *, unit_id: str | None, scope: str | None, scope_code: str | None,
               status: str | None, kind: str | None, limit: int, after: str | None) -> list[Alert]:
    """Alerts in id order; ``unit_id`` confines to one unit, ``scope`` to a supervisor's: the alerts in its place
    (``scope_code`` among their places) or, for those raised without a known place, whose unit or area it names."""
    rows = await conn.fetch(
        """
        SELECT * FROM alerts
        WHERE ($1::text IS NULL OR unit_id = $1)
          AND ($2::text IS NULL OR unit_id = $2 OR area = $2 OR places @> ARRAY[$7::text])
          AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR kind = $4)
          AND ($5::text IS NULL OR id > $5)
        ORDER BY id LIMIT $6
        """,
        unit_id, scope, status, kind, after, limit, scope_code or scope,
    )
    return [Alert.from_row(r) for r in rows]


async def held(conn: asyncpg.Connection, *, kind: str | None, unit_id: str | None, area: str | None,
               place: str | None) -> list[str]:
    """The unresolved alerts whose notifications are held and that a silence with these matchers (None: any)
    matches, in id order."""
    rows = await conn.fetch(
        """
        SELECT id FROM alerts
        WHERE held_since IS NOT NULL AND status <> 'resolved'
          AND ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR unit_id = $2) AND ($3::text IS NULL OR area = $3)
          AND ($4::text IS NULL OR places @> ARRAY[$4::text])
        ORDER BY id
        """,
        kind, unit_id, area, place,
    )
    return [r["id"] for r in rows]


@dataclass(frozen=True)
class FrozenLadder:
    """One frozen policy and the unresolved alerts that climb it (id, dedup key, kind; in id order)."""

    policy: Policy
    alerts: list[tuple[str, str, str]]


async def unresolved_ladders(conn: asyncpg.Connection, *, most: int = 10000) -> list[FrozenLadder]:
    """The frozen policies of the unresolved alerts (at most ``most``, in id order), each once with its alerts:
    what the auditor's policy checks look through. Thousands of open alerts share a handful of ladders, and each
    alert read whole cost a decoded policy (and source) of its own every audit."""
    rows = await conn.fetch(
        """
        SELECT policy, array_agg(id ORDER BY id) AS ids, array_agg(dedup_key ORDER BY id) AS keys,
               array_agg(kind ORDER BY id) AS kinds
          FROM (SELECT id, dedup_key, kind, policy FROM alerts WHERE status <> 'resolved' ORDER BY id LIMIT $1) a
         GROUP BY policy
        """, most)
    return [FrozenLadder(Policy.from_json(r["policy"]), list(zip(r["ids"], r["keys"], r["kinds"], strict=True)))
            for r in rows]


@dataclass(frozen=True)
class Overdue:
    """An unresolved alert whose next step or reminder was due before the bound, and the state of its timer."""

    alert: Alert
    timer_status: str | None  # None: no timer row at all
    timer_due_at: datetime | None


async def overdue(conn: asyncpg.Connection, before: datetime, *, most: int = 1000) -> list[Overdue]:
    """Unresolved alerts whose next escalation or reminder fell due before ``before``, most overdue first."""
    rows = await conn.fetch(
        """
        SELECT a.*, t.status AS timer_status, t.due_at AS timer_due_at
        FROM alerts a LEFT JOIN timers t ON t.kind = $2 AND t.timer_key = a.id
        WHERE a.status <> 'resolved'
          AND least(a.next_escalation_at, a.next_reminder_at) < $1
        ORDER BY least(a.next_escalation_at, a.next_reminder_at), a.id LIMIT $3
        """,
        before, ALERT_DUE, most,
    )
    return [Overdue(Alert.from_row(r), r["timer_status"], r["timer_due_at"]) for r in rows]


async def acks(conn: asyncpg.Connection, alert_id: str, *, step: int, loop: int) -> dict[str, str]:
    """target → who acknowledged it, for one step of one climb."""
    rows = await conn.fetch("SELECT target, by FROM alert_acks WHERE alert_id = $1 AND step = $2 AND loop = $3",
                            alert_id, step, loop)
    return {r["target"]: r["by"] for r in rows}


async def add_acks(conn: asyncpg.Connection, alert_id: str, *, step: int, loop: int, targets: list[str], by: str,
                   at: datetime) -> list[str]:
    """Record ``by``'s acknowledgement for each of ``targets``; returns the targets newly acknowledged."""
    rows = await conn.fetch(
        """
        INSERT INTO alert_acks (alert_id, step, loop, target, by, at)
        SELECT $1, $2, $3, t, $5, $6 FROM unnest($4::text[]) AS t
        ON CONFLICT DO NOTHING RETURNING target
        """,
        alert_id, step, loop, targets, by, at,
    )
    return [r["target"] for r in rows]


async def stop_timers(conn: asyncpg.Connection, alert_ids: Sequence[str]) -> None:
    """Cancel the pending ``alert-due`` timers of many alerts in one statement (``pingan_shared.timers.cancel``
    for one)."""
    if alert_ids:
        await conn.execute("UPDATE timers SET status = 'cancelled' WHERE kind = $1 AND timer_key = ANY($2::text[])"
                           " AND status = 'pending'", ALERT_DUE, list(alert_ids))
