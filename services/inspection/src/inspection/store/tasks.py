"""SQL for rectification tasks: inserts (a task whose unit already has an open task of its hazard key is not
inserted, by the database's unique index: the caller merges it), changes and reads, with what hangs off a task
(rectifications, revisits, findings linked, patrol hazard reports applied, its notice's closing).

A task never carries who recorded its finding: the recorder stays with the finding (sealed table) and in
the timeline, which the API shows to a unit by role only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

# A task that still holds its (unit, hazard key) place: the predicate of the unique index tasks_one_open_per_hazard.
OPEN = "status NOT IN ('verified', 'merged')"

# What a task is, as the API shows it (without its accountability and alert state, read separately).
TASK_COLUMNS = """
    t.id, t.unit_id, t.origin, t.cycle_id, t.notice_id,
    CASE WHEN n.id IS NULL THEN NULL ELSE '〔' || n.year || '〕' || n.number || '号' END AS notice_number,
    t.category, t.severity, t.hazard_key, t.place, t.latitude, t.longitude, t.description, t.evidence,
    t.status, t.day_basis, t.deadline, t.listed, t.listed_note, t.opened_at, t.submitted_at, t.verified_at,
    t.overdue_at, t.rejections, t.finding_id, t.hazard_id, t.version, t.listed_from
"""
TASK_FROM = "tasks t LEFT JOIN notices n ON n.id = t.notice_id"


def new_task_id() -> str:
    """Random, so a task id says nothing about how many tasks other units have."""
    return f"T-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class TaskRow:
    """A task to insert. Field order = the columns of ``_INSERT``."""

    id: str
    unit_id: str | None
    origin: str  # finding | hazard
    finding_id: str | None
    hazard_id: str | None
    cycle_id: str | None
    notice_id: str | None
    category: str
    severity: str
    hazard_key: str
    place: str
    latitude: float | None
    longitude: float | None
    description: str
    evidence: list[str] = field(default_factory=list)
    status: str = "open"
    day_basis: str = "calendar"
    deadline: datetime | None = None
    opened_at: datetime | None = None


_COLUMNS = ("id, unit_id, origin, finding_id, hazard_id, cycle_id, notice_id, category, severity, hazard_key, "
            "place, latitude, longitude, description, evidence, status, day_basis, deadline, opened_at")
_TYPES = ("text[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]",
          "text[]", "float8[]", "float8[]", "text[]", "text[]", "text[]", "text[]", "timestamptz[]",
          "timestamptz[]")
_UNNEST = ", ".join(f"${i}::{t}" for i, t in enumerate(_TYPES, start=1))
_NAMES = [f"c{i}" for i in range(1, len(_TYPES) + 1)]
_SELECT = ", ".join(f"{n}::jsonb" if i == 15 else n for i, n in enumerate(_NAMES, start=1))  # evidence as JSON text
# A task whose (unit, hazard key) already has an open task is not inserted: the caller merges it.
_INSERT_MANY = f"""
    INSERT INTO tasks ({_COLUMNS})
    SELECT {_SELECT} FROM unnest({_UNNEST}) AS u ({", ".join(_NAMES)})
    ON CONFLICT (unit_id, hazard_key) WHERE {OPEN} DO NOTHING
    RETURNING id
"""


async def insert_many(conn: asyncpg.Connection, rows: Sequence[TaskRow]) -> set[str]:
    """Insert tasks in one statement; returns the ids inserted (the others clashed with an open task of their
    unit and hazard key, or with each other)."""
    if not rows:
        return set()
    columns = [list(c) for c in zip(*(astuple(r) for r in rows), strict=True)]
    columns[14] = [json.dumps(e, ensure_ascii=False) for e in columns[14]]
    inserted = await conn.fetch(_INSERT_MANY, *columns)
    return {r["id"] for r in inserted}


async def insert(conn: asyncpg.Connection, row: TaskRow) -> bool:
    """Insert one task; False when its unit already has an open task of its hazard key."""
    return row.id in await insert_many(conn, [row])


async def open_task_of(conn: asyncpg.Connection, unit_id: str, hazard_key: str) -> str | None:
    """The id of the unit's open task for this hazard key, if any (not locked: lock it with ``task_for_update``
    and check it still is, as a task's timers are locked before the task)."""
    found: str | None = await conn.fetchval(
        f"SELECT id FROM tasks WHERE unit_id = $1 AND hazard_key = $2 AND {OPEN}", unit_id, hazard_key)
    return found


async def find_open_many(conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(unit, hazard key) → id of its open task, for the pairs that have one (locked)."""
    if not pairs:
        return {}
    rows = await conn.fetch(
        f"""
        SELECT t.id, t.unit_id, t.hazard_key FROM tasks t
        JOIN unnest($1::text[], $2::text[]) AS p (unit_id, hazard_key)
          ON t.unit_id = p.unit_id AND t.hazard_key = p.hazard_key
        WHERE t.{OPEN}
        ORDER BY t.id
        FOR UPDATE OF t
        """,
        [p[0] for p in pairs], [p[1] for p in pairs],
    )
    return {(r["unit_id"], r["hazard_key"]): r["id"] for r in rows}


async def link_findings(conn: asyncpg.Connection, links: Sequence[tuple[str, str]]) -> None:
    """(task_id, finding_id): a task's own finding and findings merged into it."""
    if links:
        await conn.execute(
            "INSERT INTO task_findings (task_id, finding_id) SELECT * FROM unnest($1::text[], $2::text[]) "
            "ON CONFLICT DO NOTHING",
            [t for t, _ in links], [f for _, f in links],
        )


async def set_notices(conn: asyncpg.Connection, notice_of: Mapping[str, str]) -> None:
    """task id → the notice it joins, in one statement."""
    if notice_of:
        await conn.execute(
            "UPDATE tasks t SET notice_id = m.notice_id FROM unnest($1::text[], $2::text[]) AS m (task_id, notice_id) "
            "WHERE t.id = m.task_id",
            list(notice_of), list(notice_of.values()),
        )


SEVERITIES = ("low", "medium", "high", "critical")


async def raise_severity(conn: asyncpg.Connection, severity_of: Mapping[str, str]) -> None:
    """task id → a severity merged into it: the task takes it if it is higher than its own."""
    if severity_of:
        await conn.execute(
            """
            UPDATE tasks t SET severity = m.severity, version = t.version + 1
            FROM unnest($1::text[], $2::text[]) AS m (task_id, severity)
            WHERE t.id = m.task_id
              AND coalesce(array_position($3::text[], m.severity), 0)
                  > coalesce(array_position($3::text[], t.severity), 0)
            """,
            list(severity_of), list(severity_of.values()), list(SEVERITIES),
        )


async def summaries_of_notices(conn: asyncpg.Connection, notice_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each notice's tasks, briefly, in the order they joined it."""
    rows = await conn.fetch(
        "SELECT notice_id, id, category, severity, place, status, deadline, listed, opened_at FROM tasks "
        "WHERE notice_id = ANY($1::text[]) ORDER BY opened_at, id",
        list(notice_ids),
    )
    out: dict[str, list[dict[str, Any]]] = {n: [] for n in notice_ids}
    for r in rows:
        out[r["notice_id"]].append({k: r[k] for k in ("id", "category", "severity", "place", "status", "deadline",
                                                       "listed")})
    return out


# --- reads and changes of one task: rectification, revisits, listing, deadlines, hazards -----------------

# A task with its unit's name (for the signals' summary), as the API shows it.
_TASK_SELECT = f"SELECT {TASK_COLUMNS}, u.name AS unit_name FROM {TASK_FROM} LEFT JOIN units u ON u.id = t.unit_id"


async def task_for_update(conn: asyncpg.Connection, task_id: str, *, unit_id: str | None = None,
                          timer_kinds: Sequence[str] = ()) -> asyncpg.Record | None:
    """The task, locked for a change; with ``unit_id`` only if it stands against that unit (another unit's task
    is neither locked nor waited for).

    One lock order for a task everywhere: its timer rows of ``timer_kinds`` first, then the task. The timer
    runner holds a batch of timer rows and then its handler locks the task; a change that moves or cancels the
    task's timers takes them in the same order (the runner skips a row a change holds; a change waits for a
    batch to commit and then proceeds), never the task and then its timers. A timer handler, already holding
    its own row, passes none."""
    if timer_kinds:
        await conn.execute("SELECT 1 FROM timers WHERE kind = ANY($1::text[]) AND timer_key = $2 ORDER BY kind "
                           "FOR UPDATE", list(timer_kinds), task_id)
    row: asyncpg.Record | None = await conn.fetchrow(
        f"{_TASK_SELECT} WHERE t.id = $1 AND ($2::text IS NULL OR t.unit_id = $2) FOR UPDATE OF t", task_id, unit_id)
    return row


async def exists(conn: asyncpg.Connection, task_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM tasks WHERE id = $1", task_id))


async def task_row(conn: asyncpg.Connection, task_id: str, *,
                   units: Sequence[str] | None = None) -> asyncpg.Record | None:
    """The task; with ``units``, only if it stands against one of them (what the caller may read:
    ``inspection.reach``)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"{_TASK_SELECT} WHERE t.id = $1 AND ($2::text[] IS NULL OR t.unit_id = ANY($2::text[]))",
        task_id, None if units is None else list(units))
    return row


async def task_rows(conn: asyncpg.Connection, *, units: Sequence[str] | None, status: str | None,
                    cycle_id: str | None, overdue: bool | None, limit: int, after: str | None) -> list[asyncpg.Record]:
    """A page of tasks in id order after ``after``, of ``units`` only (None: of every unit, and triage tasks);
    every filter optional."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""{_TASK_SELECT}
        WHERE ($1::text[] IS NULL OR t.unit_id = ANY($1::text[])) AND ($2::text IS NULL OR t.status = $2)
          AND ($3::text IS NULL OR t.cycle_id = $3)
          AND ($4::boolean IS NULL OR (t.overdue_at IS NOT NULL) = $4)
          AND ($5::text IS NULL OR t.id > $5)
        ORDER BY t.id LIMIT $6""",
        None if units is None else list(units), status, cycle_id, overdue, after, limit,
    )
    return rows


_CHANGEABLE = frozenset({"status", "unit_id", "submitted_at", "verified_at", "overdue_at", "rejections", "listed",
                         "listed_note", "deadline", "merged_into_task_id", "listed_from", "listed_days"})


async def update(conn: asyncpg.Connection, task_id: str, **columns: object) -> None:
    """Set the named columns of a task (and bump its version)."""
    unknown = set(columns) - _CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable task column: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
    await conn.execute(f"UPDATE tasks SET {assignments}, version = version + 1 WHERE id = $1",
                       task_id, *columns.values())


async def insert_rectification(conn: asyncpg.Connection, task_id: str, *, by: str, text: str,
                               evidence: list[str], at: datetime) -> None:
    await conn.execute(
        "INSERT INTO rectifications (task_id, submitted_by, text, evidence, submitted_at) VALUES ($1, $2, $3, $4, $5)",
        task_id, by, text, evidence, at,
    )


async def insert_revisit(conn: asyncpg.Connection, task_id: str, *, inspector: str, outcome: str,
                         remaining: str, evidence: list[str], at: datetime) -> None:
    await conn.execute(
        "INSERT INTO revisits (task_id, inspector, outcome, remaining, evidence, at) VALUES ($1, $2, $3, $4, $5, $6)",
        task_id, inspector, outcome, remaining, evidence, at,
    )


async def close_notice_if_done(conn: asyncpg.Connection, notice_id: str, at: datetime) -> bool:
    """Close the notice once every task in it is verified. The unit's row is locked first, as
    ``notices.open_notices_for`` locks it before adding tasks to the unit's open notice: two verifications of
    its last two tasks cannot both see the other still open, and no task joins a notice being closed."""
    await conn.execute("SELECT 1 FROM units WHERE id = (SELECT unit_id FROM notices WHERE id = $1) "
                       "FOR NO KEY UPDATE", notice_id)
    status = await conn.fetchval("SELECT status FROM notices WHERE id = $1 FOR UPDATE", notice_id)
    if status != "open":
        return False
    if await conn.fetchval(f"SELECT 1 FROM tasks WHERE notice_id = $1 AND {OPEN} LIMIT 1", notice_id):
        return False
    await conn.execute("UPDATE notices SET status = 'closed', closed_at = $2 WHERE id = $1", notice_id, at)
    return True


async def task_of_hazard(conn: asyncpg.Connection, hazard_id: str) -> str | None:
    """The task a patrol hazard report opened or was merged into, if it was applied already."""
    found: str | None = await conn.fetchval("SELECT task_id FROM hazard_reports WHERE hazard_id = $1", hazard_id)
    return found


async def record_hazard(conn: asyncpg.Connection, hazard_id: str, task_id: str, *, reported_at: datetime,
                        applied_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO hazard_reports (hazard_id, task_id, reported_at, applied_at) VALUES ($1, $2, $3, $4)",
        hazard_id, task_id, reported_at, applied_at,
    )


async def repoint_hazards(conn: asyncpg.Connection, from_task: str, to_task: str) -> None:
    """The patrol reports applied to ``from_task`` now live in ``to_task`` (a re-sent one finds it there)."""
    await conn.execute("UPDATE hazard_reports SET task_id = $2 WHERE task_id = $1", from_task, to_task)


async def scorecard_facts(conn: asyncpg.Connection, cycle_id: str) -> list[asyncpg.Record]:
    """Each finding of the cycle with each task it lives in (its own, or one it merged into), the task's
    outcome fields, and the revisits rejected in that task since the finding was released into it."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """
        SELECT f.id AS finding_id, f.township_unit_id, f.department_unit_id,
               t.id AS task_id, t.unit_id, t.deadline, t.verified_at,
               (SELECT count(*) FROM revisits r WHERE r.task_id = t.id AND r.outcome = 'rejected'
                  AND r.at >= coalesce(f.released_at, '-infinity')) AS rejections
        FROM findings f
        JOIN task_findings tf ON tf.finding_id = f.id
        JOIN tasks t ON t.id = tf.task_id
        WHERE f.cycle_id = $1 AND t.unit_id IS NOT NULL
        ORDER BY f.recorded_at, f.id, t.unit_id
        """,
        cycle_id,
    )
    return rows
