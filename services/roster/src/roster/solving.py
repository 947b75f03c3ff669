"""Solving a period: a request makes a durable job (a row); a background worker claims it, solves it off the event
loop, writes progress (phase, objective, bound, elapsed, time to the first roster) while it runs, and stores the
result as a draft roster — or, for an infeasible period, the solver's explanation (which rules conflict, for whom).

A job is claimed under a lease the worker renews with each progress write. A worker that dies (a restart) leaves
its job ``running`` with a lease that runs out; any replica then claims it again and solves it from the start.
After ``ROSTER_SOLVE_MAX_ATTEMPTS`` claims the job fails, visibly, instead of being retried for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from pingan_shared.logs import get_logger
from pingan_shared.refused import Conflict, NotFound
from roster import solver, visibility
from roster.context import RosterContext
from roster.domain.problem import assignments_by_shift, build_problem
from roster.facts import load_period_facts
from roster.publishing import DraftNotFound
from roster.solver import Progress, Solution, Status
from roster.store import jobs as store
from roster.store import periods as period_store

log = get_logger(__name__)


class PeriodNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__(visibility.NO_SUCH_PERIOD)


class JobBusy(Conflict):
    """A solve of the period is queued or running already (one at a time per period)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"本期已有求解任务在进行：{job_id} (a solve of this period is under way)", "period_id")
        self.job_id = job_id


class JobNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("没有该求解任务 (no such job)")


async def request_solve(conn: asyncpg.Connection, ctx: RosterContext, period_id: str, *, time_limit_s: float | None,
                        replan: bool | None, requested_by: str) -> str:
    """A queued job for the period (one at a time per period). Re-planning (few changes against the published
    roster) is the default once the period has been published. Call inside a transaction."""
    period = await period_store.get_period(conn, period_id, lock=True)
    if period is None:
        raise PeriodNotFound()
    busy = await store.active_job(conn, period_id)
    if busy is not None:
        raise JobBusy(busy)
    job_id = f"J-{uuid.uuid4().hex[:12]}"
    limit = min(time_limit_s or ctx.settings.solve_default_time_limit_s, ctx.settings.solve_max_time_limit_s)
    await store.insert_job(conn, job_id, period_id, limit, period["published_version"] > 0 if replan is None
                           else replan, requested_by, ctx.now())
    return job_id


async def read_job(conn: asyncpg.Connection, job_id: str) -> dict[str, Any]:
    """A job as its readers see it: status, progress and result; an infeasible one also has its ``outcome``,
    the answer an organiser needs shaped like a 422 (what cannot hold together, and for whom)."""
    row = await store.get_job(conn, job_id)
    if row is None:
        raise JobNotFound()
    out = dict(row)
    if out["status"] == "infeasible":
        explanation = (out["result"] or {}).get("explanation") or {}
        out["outcome"] = {"status": 422, "detail": explanation.get("summary", "无可行排班"),
                          "conflicts": explanation.get("conflicts", [])}
    return out


async def read_draft(ctx: RosterContext, draft_id: str) -> dict[str, Any]:
    """A draft roster: its period, job, objective and bound, whether it was published, and its assignments
    (shift id → member ids)."""
    async with ctx.runtime.connection() as conn:
        row = await store.get_draft(conn, draft_id)
        if row is None:
            raise DraftNotFound()
        return dict(row) | {"assignments": await store.draft_assignments(conn, draft_id)}


def solve_worker(ctx: RosterContext) -> Any:
    """The background loop (``runtime.background["solve-worker"]``): claim, solve, store, repeat."""

    async def run() -> None:
        while True:
            try:
                worked = await run_one(ctx)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away: log and poll again; the job's lease brings it back
                log.exception("solve worker: claiming or storing a job failed")
                worked = False
            if not worked:
                await asyncio.sleep(ctx.settings.solve_poll_seconds)

    return run()


async def run_one(ctx: RosterContext) -> bool:
    """Claim and run one job; False when none was waiting."""
    async with ctx.runtime.connection() as conn, conn.transaction():
        job = await store.claim(conn, ctx.settings.solve_lease_seconds)
        if job is None:
            return False
        if job["attempts"] > ctx.settings.solve_max_attempts:
            await store.fail(conn, job["job_id"], ctx.now(),
                             f"求解被中断{job['attempts'] - 1}次（服务重启），已停止重试；请重新提交求解")
            log.warning("solve job failed after interruptions", job_id=job["job_id"], attempts=job["attempts"])
            return True
        await store.mark_started(conn, job["job_id"], ctx.now())
    await _run(ctx, job["job_id"], job["period_id"], job["time_limit_s"], job["replan"], job["attempts"])
    return True


async def _run(ctx: RosterContext, job_id: str, period_id: str, time_limit_s: float, replan: bool,
               attempt: int) -> None:
    async with ctx.runtime.connection() as conn:
        facts = await load_period_facts(conn, period_id, replan=replan)
    if facts is None or not facts.duties or not facts.members:
        why = ("本期不存在" if facts is None else "本期还没有勤务" if not facts.duties else "本期还没有学员名单")
        async with ctx.runtime.connection() as conn:
            await store.finish(conn, job_id, attempt, "failed", ctx.now(), progress=None, result=None, error=why)
        return
    problem = build_problem(facts)
    latest: list[Progress] = []
    started = time.monotonic()

    def on_progress(progress: Progress) -> None:  # the solver's thread: only hand the figure over
        latest.append(progress)

    solving = _in_daemon_thread(lambda: solver.solve(problem, time_limit_s=time_limit_s,
                                                     workers=ctx.settings.solve_workers, on_progress=on_progress))
    owned = True
    while not solving.done():
        await asyncio.wait([solving], timeout=ctx.settings.solve_progress_every_s)
        if solving.done():
            break
        async with ctx.runtime.connection() as conn:
            owned = await store.heartbeat(conn, job_id, attempt, ctx.settings.solve_lease_seconds,
                                          _progress(latest, started))
        if not owned:
            log.warning("solve job taken over by another worker", job_id=job_id)
    try:
        solution = solving.result()
    except Exception as exc:
        log.exception("solver failed", job_id=job_id)
        async with ctx.runtime.connection() as conn:
            await store.finish(conn, job_id, attempt, "failed", ctx.now(), progress=None, result=None,
                               error=f"求解出错：{type(exc).__name__}: {exc}"[:2000])
        return
    await _store_result(ctx, job_id, attempt, facts.period_id, solution,
                        assignments_by_shift(facts, solution.assignments), latest)


def _in_daemon_thread(work: Callable[[], Solution]) -> asyncio.Future[Solution]:
    """Run the solve on a daemon thread: CP-SAT cannot be interrupted from here, and a service that stops mid-solve
    must not wait for the time limit to exit (the job's lease brings it back on the next start)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Solution] = loop.create_future()

    def settle(outcome: Solution | BaseException) -> None:
        if future.done():
            return  # the worker was cancelled (the service stopped) meanwhile
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome: Solution | BaseException = work()
        except BaseException as exc:  # handed to the event loop, which reports it on the job
            outcome = exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="roster-solve", daemon=True).start()
    return future


def _progress(seen: list[Progress], started: float) -> dict[str, Any]:
    """What the organiser sees while it runs: the phase ("searching" for a first roster, or "improving" one), the
    time so far, and once there is a roster its objective and bound, when it came (``first_roster_s``) and how many
    better ones followed."""
    elapsed = round(time.monotonic() - started, 3)
    if not seen:
        return {"phase": "searching", "objective": None, "bound": None, "elapsed_s": elapsed, "first_roster_s": None,
                "solutions": 0}
    p = seen[-1]
    return {"phase": "improving", "objective": p.objective, "bound": p.best_bound, "elapsed_s": elapsed,
            "first_roster_s": round(seen[0].elapsed_s, 3), "solutions": len(seen)}


def _result(solution: Solution) -> dict[str, Any]:
    out: dict[str, Any] = {"solver_status": solution.status.value, "objective": solution.objective,
                           "bound": solution.best_bound, "wall_time_s": round(solution.wall_time_s, 3),
                           "penalties": dict(solution.penalties)}
    if solution.explanation is not None:
        e = solution.explanation
        out["explanation"] = {
            "summary": e.summary, "minimal": e.minimal,
            "conflicts": [{"rule": c.kind, "text": c.text, "people": list(c.people), "days": list(c.days),
                           "duties": list(c.shifts)} for c in e.conflicts]}
    return out


async def _store_result(ctx: RosterContext, job_id: str, attempt: int, period_id: str, solution: Solution,
                        by_shift: dict[str, list[str]], seen: list[Progress]) -> None:
    result = _result(solution)
    final = {"phase": "done", "objective": solution.objective, "bound": solution.best_bound,
             "elapsed_s": round(solution.wall_time_s, 3),
             "first_roster_s": round(seen[0].elapsed_s, 3) if seen else None, "solutions": len(seen)}
    async with ctx.runtime.connection() as conn, conn.transaction():
        if solution.status in (Status.OPTIMAL, Status.FEASIBLE):
            draft_id = f"D-{job_id.removeprefix('J-')}"
            if await store.finish(conn, job_id, attempt, "done", ctx.now(), progress=final,
                                  result=result | {"draft_id": draft_id}, error=None):
                await store.insert_draft(conn, draft_id, period_id, job_id, solution.objective, solution.best_bound,
                                         ctx.now(), by_shift)
        elif solution.status is Status.INFEASIBLE:
            await store.finish(conn, job_id, attempt, "infeasible", ctx.now(), progress=final, result=result,
                               error=None)
        else:
            await store.finish(conn, job_id, attempt, "failed", ctx.now(), progress=final, result=result,
                               error="在时限内未找到可行排班，也未证明无解；请延长时限后重试")
