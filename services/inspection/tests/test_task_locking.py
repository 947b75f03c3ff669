"""Races between a request and the timer runner or a consumer, made to happen on purpose over the real database:
a test connection plays the runner (it takes a task's timer row the way ``TimerRunner`` does, then runs the
inspection handler) or a concurrent hazard report, and the request is started while it holds its locks.

One lock order everywhere: a task's timer rows, then the task. The runner holds its batch of timer rows and
then locks the task; a request that changes a task's timers takes the same two in the same order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from inspection import hazards, timers
from inspection.deadlines import TASK_DEADLINE, TASK_REMINDER
from inspection.domain.calendar import DayBasis
from inspection.opening import TaskDraft, open_task
from pingan_shared.events.patrol_contracts import HazardReportedV1
from pingan_shared.timers import Timer

from .conftest import Inspection, local

UNITS = [{"id": "AY", "name": "安阳街道", "kind": "township", "contact": "张"},
         {"id": "YH", "name": "玉海街道", "kind": "township", "contact": "赵"}]
DUE = local(date(2026, 3, 10))


async def seed(inspection: Inspection) -> None:
    for unit in UNITS:
        await inspection.ok("POST", "/v1/units", inspection.inspector, json=unit)


async def open_for(inspection: Inspection, unit_id: str, place: str, *, deadline: datetime = DUE) -> str:
    draft = TaskDraft(unit_id=unit_id, origin="finding", category="fire", severity="medium",
                      hazard_key=f"fire:{place}", place=place, description=f"{place} 消防通道堵塞",
                      deadline=deadline, day_basis=DayBasis.CALENDAR, evidence=["photo://1"])
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        opened = await open_task(conn, inspection.ctx, draft, now=inspection.clock.now(), actor="inspector:王督查")
    return opened.task_id


def report(hazard_id: str, unit_id: str | None, place: str, *, reported_at: datetime,
           received_at: datetime) -> HazardReportedV1:
    return HazardReportedV1(hazard_id=hazard_id, team_id="一队", member_id="张三", category="fire",
                            description="消防通道堵塞", place=place, photo_refs=[f"photo://{hazard_id}"],
                            unit_id=unit_id, reported_at=reported_at, received_at=received_at)


async def apply(inspection: Inspection, hazard: HazardReportedV1) -> str:
    """A patrol report applied (and committed) as the consumer applies it."""
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        return await hazards.apply_report(conn, hazard, envelope=None, ctx=inspection.ctx,
                                          now=inspection.clock.now())


async def submit(inspection: Inspection, task_id: str, unit_id: str) -> None:
    await inspection.ok("POST", f"/v1/tasks/{task_id}/rectifications", inspection.unit(unit_id),
                        json={"text": "已整改", "evidence": ["photo://after"]}, expect=201)


async def blocks_someone(conn: asyncpg.Connection) -> bool:
    """Whether another session is waiting for a lock ``conn`` holds (a transaction keeps its first view of
    pg_stat_activity unless told to drop it)."""
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    waiting: int = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                                       conn.get_server_pid())
    return waiting > 0


async def settled_or_waiting(request: asyncio.Task[Any], conn: asyncpg.Connection) -> bool:
    return request.done() or await blocks_someone(conn)


@contextlib.asynccontextmanager
async def runner_holding(inspection: Inspection, kind: str, task_id: str,
                         ) -> AsyncIterator[tuple[asyncpg.Connection, Timer]]:
    """A runner's batch: the timer's row taken FOR UPDATE SKIP LOCKED and marked fired, in a transaction that
    commits when the block ends (as ``TimerRunner._fire_batch`` does)."""
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT id, kind, timer_key, due_at, payload, attempts FROM timers "
            "WHERE kind = $1 AND timer_key = $2 FOR UPDATE SKIP LOCKED", kind, task_id)
        assert row is not None
        await conn.execute("UPDATE timers SET status = 'fired', fired_at = $2, attempts = attempts + 1 "
                           "WHERE id = $1", row["id"], inspection.clock.now())
        yield conn, Timer(row["id"], row["kind"], row["timer_key"], row["due_at"], row["payload"], row["attempts"])


async def task_view(inspection: Inspection, task_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await inspection.ok("GET", f"/v1/tasks/{task_id}", inspection.inspector, expect=200)
    return body


async def test_a_revisit_and_a_deadline_handler_holding_its_timer_row_both_complete(inspection: Inspection) -> None:
    await seed(inspection)
    task_id = await open_for(inspection, "AY", "万松路12号")
    await submit(inspection, task_id, "AY")

    async with runner_holding(inspection, TASK_DEADLINE, task_id) as (conn, timer):
        revisit = asyncio.create_task(inspection.client.post(
            f"/v1/tasks/{task_id}/revisits", json={"outcome": "verified"}, headers=inspection.inspector))
        await inspection.until(lambda: settled_or_waiting(revisit, conn), "the revisit waiting for the runner's batch")
        # the handler now locks the task (not yet due: it re-arms its own timer)
        await timers.on_task_deadline(inspection.ctx, conn, timer)
    response = await revisit
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "verified"
    async with inspection.db() as db:
        left = await db.fetch("SELECT kind, status FROM timers WHERE timer_key = $1", task_id)
    assert {(r["kind"], r["status"]) for r in left} <= {(TASK_DEADLINE, "cancelled"), (TASK_REMINDER, "cancelled")}


async def test_a_listing_and_a_reminder_handler_holding_its_timer_row_both_complete(inspection: Inspection) -> None:
    await seed(inspection)
    task_id = await open_for(inspection, "AY", "安阳菜场")

    async with runner_holding(inspection, TASK_REMINDER, task_id) as (conn, timer):
        listing = asyncio.create_task(inspection.client.put(
            f"/v1/tasks/{task_id}/listing", json={"deadline": "2026-05-01", "note": "挂牌督办"},
            headers=inspection.inspector))
        await inspection.until(lambda: settled_or_waiting(listing, conn), "the listing waiting for the runner's batch")
        await timers.on_task_reminder(inspection.ctx, conn, timer)
    response = await listing
    assert response.status_code == 200, response.text
    assert response.json()["listed"] and datetime.fromisoformat(response.json()["deadline"]) == local(date(2026, 5, 2))


async def test_a_verification_racing_the_deadline_is_never_on_time_and_overdue_both(inspection: Inspection) -> None:
    await seed(inspection)
    task_id = await open_for(inspection, "AY", "万松路12号")
    await inspection.advance_to(DUE - timedelta(hours=1))
    await submit(inspection, task_id, "AY")

    async with runner_holding(inspection, TASK_DEADLINE, task_id) as (conn, timer):
        await conn.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", task_id)  # the handler's lock, early
        # the inspector's request reads the clock an hour before the deadline, then waits for the lock
        revisit = asyncio.create_task(inspection.client.post(
            f"/v1/tasks/{task_id}/revisits", json={"outcome": "verified"}, headers=inspection.inspector))
        await inspection.until(lambda: blocks_someone(conn), "the revisit waiting for the task")
        await inspection.advance_to(DUE)
        await timers.on_task_deadline(inspection.ctx, conn, timer)  # overdue, committed first
    response = await revisit
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["overdue_at"] is not None
    assert datetime.fromisoformat(task["verified_at"]) >= datetime.fromisoformat(task["overdue_at"])
    events = [e for e in await inspection.outbox() if e["type"] == "inspection.task-verified"]
    assert [(e["payload"]["on_time"], e["payload"]["was_overdue"]) for e in events] == [(False, True)]
    async with inspection.db() as db:
        said = await db.fetchval("SELECT detail->>'on_time' FROM task_timeline WHERE task_id = $1 "
                                 "AND action = 'revisit-verified'", task_id)
    assert said == "false"


async def test_a_unit_acting_on_another_units_task_does_not_wait_for_its_lock(inspection: Inspection) -> None:
    await seed(inspection)
    theirs = await open_for(inspection, "YH", "玉海楼")
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", theirs)  # YH's own change under way
        attempt = asyncio.create_task(inspection.client.post(
            f"/v1/tasks/{theirs}/rectifications", json={"text": "试探", "evidence": ["p"]},
            headers=inspection.unit("AY")))

        async def answered_without_waiting() -> bool:
            if attempt.done():
                return True
            assert not await blocks_someone(conn), "AY's request waits for a lock on YH's task"
            return False

        await inspection.until(answered_without_waiting, "AY's request answered")
    response = attempt.result()
    assert response.status_code == 404 and response.json()["detail"] == "任务不存在"


async def test_assigning_while_a_hazard_report_of_the_same_hazard_commits_merges_instead_of_failing(
    inspection: Inspection,
) -> None:
    await seed(inspection)
    now = inspection.clock.now()
    triage_id = await apply(inspection, report("H-1", None, "东山路", reported_at=now - timedelta(hours=5),
                                               received_at=now))
    assert (await task_view(inspection, triage_id))["status"] == "triage"

    # a patrol report of the same hazard for AY, not yet committed
    async with inspection.service.runtime.connection() as conn, conn.transaction():
        open_id = await hazards.apply_report(conn, report("H-2", "AY", "东山路", reported_at=now, received_at=now),
                                             envelope=None, ctx=inspection.ctx, now=now)
        assign = asyncio.create_task(inspection.client.post(
            f"/v1/tasks/{triage_id}/assignment", json={"unit_id": "AY"}, headers=inspection.inspector))
        await inspection.until(lambda: blocks_someone(conn), "the assignment waiting for the report")
    response = await assign
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "merged"
    async with inspection.db() as db:
        assert await db.fetchval("SELECT merged_into_task_id FROM tasks WHERE id = $1", triage_id) == open_id
        assert await db.fetchval("SELECT task_id FROM hazard_reports WHERE hazard_id = 'H-1'") == open_id
    merged = await task_view(inspection, open_id)
    assert merged["status"] == "open"
    # the earlier sighting's deadline stands, as when two reports of one hazard merge
    assert datetime.fromisoformat(merged["deadline"]) == now - timedelta(hours=5) + timedelta(hours=24)
