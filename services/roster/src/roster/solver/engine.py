"""CP-SAT model of a ``Problem`` (being built: the signature is final)."""

from __future__ import annotations

from roster.solver.model import Problem, ProgressCallback, Solution


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    workers: int = 2,
    on_progress: ProgressCallback | None = None,
) -> Solution:
    raise NotImplementedError("roster.solver.engine.solve is being built")
