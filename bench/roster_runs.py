"""One solve of the roster NRP bench (ours or the plain reference model) in a child process of its own, so that
its peak memory is its own (the child reports its ``ru_maxrss`` as it ends: one run's memory cannot leak into
the next one's figure, as it would in one process or in ``RUSAGE_CHILDREN``), and so that a solve that runs far
past its time limit — the reference model's cpmpy build of a 364 × 150 × 32 instance takes minutes and GBs —
is killed and reported instead of hanging the bench.

Imported by ``roster_nrp.py`` as a sibling module (the bench runs as ``python bench/roster_nrp.py``).
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from roster.solver.model import Assignment

OURS = "ours"
REFERENCE = "reference"
TIMEOUT = "timeout"
PROGRESS_EVERY_S = 20.0
"""A progress line at the first roster, then at most one per this many seconds: a 60 s solve stays a few lines."""


@dataclass(frozen=True)
class Outcome:
    """What one solve gave. ``status`` is the solver's (optimal, feasible, unknown, …), or ``TIMEOUT`` (killed
    after ``wall_s``), ``died (exit N)`` or ``error: …`` when the child did not answer. ``first_roster_s`` is
    ours only: the elapsed time of the first progress report (the reference model reports none). ``wall_s`` is
    the child's whole job, from the instance text to the answer (model building included)."""

    status: str
    objective: int | None
    best_bound: float | None
    first_roster_s: float | None
    wall_s: float
    peak_mb: float | None
    assignments: tuple[Assignment, ...] = ()

    @property
    def answered(self) -> bool:
        return self.status != TIMEOUT and not self.status.startswith(("died", "error"))


def solve_in_child(kind: str, label: str, name: str, text: str, *, time_limit_s: float, workers: int,
                   timeout_s: float) -> Outcome:
    """Solve the instance ``text`` with ``kind`` (``OURS`` or ``REFERENCE``) in a fresh spawned process; kill it
    once ``timeout_s`` have passed without an answer."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no memory inherited from the bench
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(kind, sender, label, name, text, time_limit_s, workers),
                            name=f"{kind} {label}", daemon=True)
    started = time.monotonic()
    child.start()
    sender.close()  # only the child's copy stays open, so its death reads as end of file here
    try:
        if receiver.poll(timeout_s):
            try:
                outcome: Outcome = receiver.recv()
            except EOFError:  # it ended without answering: killed by the system (memory) or crashed
                child.join(10)
                return Outcome(f"died (exit {child.exitcode})", None, None, None, time.monotonic() - started, None)
            child.join(30)
            return outcome
        peak = _peak_of_running(child.pid)
        return Outcome(TIMEOUT, None, None, None, time.monotonic() - started, peak)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
            child.join(10)


def _peak_of_running(pid: int | None) -> float | None:
    """A running process's peak resident memory so far (VmHWM), read before it is killed."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _own_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _child(kind: str, sender: Connection, label: str, name: str, text: str, time_limit_s: float,
           workers: int) -> None:
    started = time.monotonic()
    try:
        if kind == OURS:
            outcome = _solve_ours(label, name, text, time_limit_s, workers, started)
        else:
            outcome = _solve_reference(name, text, time_limit_s, workers, started)
    except Exception as error:  # reported in the table, never a hang or a lost run
        outcome = Outcome(f"error: {type(error).__name__}: {error}", None, None, None,
                          time.monotonic() - started, _own_peak_mb())
    sender.send(outcome)
    sender.close()


def _solve_ours(label: str, name: str, text: str, time_limit_s: float, workers: int, started: float) -> Outcome:
    from roster.nrp.loader import parse, to_problem
    from roster.solver import Progress, solve

    problem = to_problem(parse(text, name=name))
    reports: list[Progress] = []
    last_printed = [float("-inf")]

    def on_progress(progress: Progress) -> None:
        reports.append(progress)
        if progress.elapsed_s - last_printed[0] >= PROGRESS_EVERY_S:
            last_printed[0] = progress.elapsed_s
            print(f"    {label} ours: {progress.elapsed_s:6.1f} s  objective {progress.objective}  "
                  f"bound {progress.best_bound:.0f}  (roster {progress.solutions})", flush=True)

    solution = solve(problem, time_limit_s=time_limit_s, workers=workers, on_progress=on_progress)
    first: float | None = None
    if reports:
        first = reports[0].elapsed_s
    elif solution.objective is not None:
        first = solution.wall_time_s  # a roster came without any report: the whole solve is its time
    return Outcome(str(solution.status), solution.objective, solution.best_bound, first,
                   time.monotonic() - started, _own_peak_mb(), tuple(solution.assignments))


def _solve_reference(name: str, text: str, time_limit_s: float, workers: int, started: float) -> Outcome:
    from roster.nrp import reference
    from roster.nrp.loader import parse

    result = reference.solve(parse(text, name=name), time_limit_s=time_limit_s, workers=workers)
    return Outcome(result.status, result.objective, result.best_bound, None, time.monotonic() - started,
                   _own_peak_mb())
