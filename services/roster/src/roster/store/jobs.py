"""SQL for solve jobs and the drafts they produce. Leases use the database's own clock (real time): they guard
the worker, not a business deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

JOB_COLUMNS = ("job_id, period_id, status, time_limit_s, replan, requested_by, requested_at, started_at, finished_at, "
               "attempts, progress, result, error")


async def active_job(conn: asyncpg.Connection, period_id: str) -> str | None:
    job_id: str | None = await conn.fetchval(
        "SELECT job_id FROM solve_jobs WHERE period_id = $1 AND status IN ('queued', 'running') LIMIT 1", period_id)
    return job_id


async def insert_job(conn: asyncpg.Connection, job_id: str, period_id: str, time_limit_s: float, replan: bool,
                     requested_by: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO solve_jobs (job_id, period_id, status, time_limit_s, replan, requested_by, requested_at)"
        " VALUES ($1, $2, 'queued', $3, $4, $5, $6)", job_id, period_id, time_limit_s, replan, requested_by, now)


async def get_job(conn: asyncpg.Connection, job_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(f"SELECT {JOB_COLUMNS} FROM solve_jobs WHERE job_id = $1",
                                                     job_id)
    return row


async def claim(conn: asyncpg.Connection, lease_s: float) -> asyncpg.Record | None:
    """The oldest job that is queued, or running under a lease that ran out (its worker died): marked running
    with a fresh lease and one more attempt. Call inside a transaction."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        UPDATE solve_jobs SET status = 'running', attempts = attempts + 1,
               lease_until = clock_timestamp() + make_interval(secs => $1)
        WHERE job_id = (SELECT job_id FROM solve_jobs
                        WHERE status = 'queued' OR (status = 'running' AND lease_until < clock_timestamp())
                        ORDER BY requested_at, job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING job_id, period_id, time_limit_s, replan, attempts, started_at
        """, lease_s)
    return row


async def mark_started(conn: asyncpg.Connection, job_id: str, now: datetime) -> None:
    await conn.execute("UPDATE solve_jobs SET started_at = coalesce(started_at, $2) WHERE job_id = $1", job_id, now)


async def heartbeat(conn: asyncpg.Connection, job_id: str, attempt: int, lease_s: float,
                    progress: dict[str, Any] | None) -> bool:
    """Extend the lease (and record progress) while this attempt still owns the job."""
    status = await conn.execute(
        """UPDATE solve_jobs SET lease_until = clock_timestamp() + make_interval(secs => $3),
                  progress = coalesce($4::jsonb, progress)
           WHERE job_id = $1 AND attempts = $2 AND status = 'running'""", job_id, attempt, lease_s, progress)
    return bool(status.endswith(" 1"))


async def finish(conn: asyncpg.Connection, job_id: str, attempt: int, status: str, now: datetime, *,
                 progress: dict[str, Any] | None, result: dict[str, Any] | None, error: str | None) -> bool:
    done = await conn.execute(
        """UPDATE solve_jobs SET status = $3, finished_at = $4, lease_until = NULL,
                  progress = coalesce($5::jsonb, progress), result = $6, error = $7
           WHERE job_id = $1 AND attempts = $2 AND status = 'running'""",
        job_id, attempt, status, now, progress, result, error)
    return bool(done.endswith(" 1"))


async def fail(conn: asyncpg.Connection, job_id: str, now: datetime, error: str) -> None:
    await conn.execute("UPDATE solve_jobs SET status = 'failed', finished_at = $2, lease_until = NULL, error = $3"
                       " WHERE job_id = $1", job_id, now, error)


async def insert_draft(conn: asyncpg.Connection, draft_id: str, period_id: str, job_id: str,
                       objective: float | None, bound: float | None, now: datetime,
                       assignments: dict[str, list[str]]) -> None:
    await conn.execute(
        "INSERT INTO roster_drafts (draft_id, period_id, job_id, objective, bound, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)", draft_id, period_id, job_id, objective, bound, now)
    pairs = [(shift, member) for shift, members in assignments.items() for member in members]
    await conn.execute(
        "INSERT INTO draft_assignments (draft_id, shift_id, member_id)"
        " SELECT $1, * FROM unnest($2::text[], $3::text[])",
        draft_id, [s for s, _ in pairs], [m for _, m in pairs])


async def get_draft(conn: asyncpg.Connection, draft_id: str, *, lock: bool = False) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT draft_id, period_id, job_id, objective, bound, created_at, published_as, published_at"
        " FROM roster_drafts WHERE draft_id = $1" + (" FOR UPDATE" if lock else ""), draft_id)
    return row


async def draft_assignments(conn: asyncpg.Connection, draft_id: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in await conn.fetch("SELECT shift_id, member_id FROM draft_assignments WHERE draft_id = $1"
                              " ORDER BY shift_id, member_id", draft_id):
        out.setdefault(r["shift_id"], []).append(r["member_id"])
    return out


async def last_publish(conn: asyncpg.Connection, period_id: str) -> datetime | None:
    """When a draft of the period was last published (None: never)."""
    at: datetime | None = await conn.fetchval("SELECT max(published_at) FROM roster_drafts WHERE period_id = $1",
                                              period_id)
    return at


async def mark_published(conn: asyncpg.Connection, draft_id: str, version: int, now: datetime) -> None:
    await conn.execute("UPDATE roster_drafts SET published_as = $2, published_at = $3 WHERE draft_id = $1",
                       draft_id, version, now)
