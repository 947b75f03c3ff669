"""The plain reference model of a Curtois instance, written directly in cpmpy from the instance definition
(the same model as cpmpy's own ``cpmpy.tools.io.nurserostering``): an integer per person and day (0 = off,
i = the i-th shift), each rule stated the obvious way. It serves twice in the benchmark: as the baseline
solved by CP-SAT at the same time limit, and as an independent checker of the solver's rosters (fix its
variables to a roster: every constraint must hold and the objective must match).

cpmpy is a development dependency (the bench and the tests); nothing in the service imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cpmpy as cp
from cpmpy.solvers.solver_interface import ExitStatus

from roster.nrp.loader import Instance
from roster.solver.model import Assignment


@dataclass(frozen=True)
class ReferenceModel:
    model: Any
    nurse_view: Any
    objective: Any
    shift_ids: tuple[str, ...]


@dataclass(frozen=True)
class ReferenceResult:
    status: str
    objective: int | None
    best_bound: float | None
    wall_time_s: float


def build(instance: Instance) -> ReferenceModel:
    horizon = instance.horizon
    staff = instance.staff
    shift_ids = tuple(s.id for s in instance.shifts)
    code = {sid: i + 1 for i, sid in enumerate(shift_ids)}
    free = 0
    index = {s.id: i for i, s in enumerate(staff)}
    nv = cp.intvar(0, len(shift_ids), shape=(len(staff), horizon), name="nv")
    model = cp.Model()

    for shift in instance.shifts:  # a shift's successor on the next day may not be one it "cannot follow"
        for then in shift.cannot_follow:
            model += (nv[:, :-1] == code[shift.id]).implies(nv[:, 1:] != code[then])
    for i, person in enumerate(staff):
        for sid in shift_ids:
            model += cp.Count(nv[i], code[sid]) <= person.max_shifts.get(sid, horizon)
    lengths = cp.cpm_array([0] + [s.minutes for s in instance.shifts])
    for i, person in enumerate(staff):
        worked = cp.sum([lengths[nv[i, d]] for d in range(horizon)])
        model += worked <= person.max_total_minutes
        model += worked >= person.min_total_minutes
    for i, person in enumerate(staff):
        k = person.max_consecutive_shifts
        for d in range(horizon - k):
            model += cp.Count(nv[i, d : d + k + 1], free) >= 1
    for i, person in enumerate(staff):
        k = person.min_consecutive_shifts
        for d in range(1, horizon):
            starts = (nv[i, d - 1] == free) & (nv[i, d] != free)
            model += starts.implies(cp.all(nv[i, d : d + k] != free))
    for i, person in enumerate(staff):
        k = person.min_consecutive_days_off
        for d in range(1, horizon):
            starts = (nv[i, d - 1] != free) & (nv[i, d] == free)
            model += starts.implies(cp.all(nv[i, d : d + k] == free))
    weekends = [(d - 1, d) for d in range(1, horizon) if (d + 1) % 7 == 0]
    for i, person in enumerate(staff):
        model += cp.sum([(nv[i, sat] != free) | (nv[i, sun] != free) for sat, sun in weekends]) <= person.max_weekends
    for sid, days in instance.days_off.items():
        for d in days:
            if 0 <= d < horizon:
                model += nv[index[sid], d] == free

    objective: Any = 0
    for r in instance.on_requests:
        objective += r.weight * (nv[index[r.staff], r.day] != code[r.shift])
    for r in instance.off_requests:
        objective += r.weight * (nv[index[r.staff], r.day] == code[r.shift])
    for c in instance.cover:
        count = cp.Count(nv[:, c.day], code[c.shift])
        over, under = cp.intvar(0, len(staff), shape=2)
        model += count - over + under == c.requirement
        objective += c.over_weight * over + c.under_weight * under
    model.minimize(objective)
    return ReferenceModel(model, nv, objective, shift_ids)


def solve(instance: Instance, *, time_limit_s: float, workers: int = 2) -> ReferenceResult:
    """The plain model solved by CP-SAT through cpmpy, at the same limit and cores as ours."""
    ref = build(instance)
    started = time.monotonic()
    solver = cp.SolverLookup.get("ortools", ref.model)
    found = solver.solve(time_limit=time_limit_s, num_workers=workers)
    elapsed = time.monotonic() - started
    status = solver.status().exitstatus.name.lower()
    bound = solver.ort_solver.best_objective_bound if found else None
    return ReferenceResult(status, int(solver.objective_value()) if found else None, bound, elapsed)


KEEPS_EVERY_RULE = "keeps every rule"
BREAKS_A_RULE = "breaks a rule"
UNDECIDED = "could not decide within the limit"


@dataclass(frozen=True)
class CheckResult:
    """The reference model's verdict on a roster: ``status`` is ``KEEPS_EVERY_RULE`` (then ``objective`` is its
    price), ``BREAKS_A_RULE``, or ``UNDECIDED`` when CP-SAT ran out of time before either (not a verdict: the
    roster may well be valid; ``roster.nrp.check`` decides without a solver)."""

    status: str
    objective: int | None

    @property
    def feasible(self) -> bool:
        """Proven to keep every rule (False also when undecided: look at ``status``)."""
        return self.status == KEEPS_EVERY_RULE

    @property
    def decided(self) -> bool:
        return self.status != UNDECIDED


def check(instance: Instance, assignments: Iterable[Assignment], *, time_limit_s: float = 30) -> CheckResult:
    """Fix the reference model's variables to a roster: are all its constraints satisfied, and at what cost?
    Running out of ``time_limit_s`` is reported as ``UNDECIDED``, never as a broken rule. The limit bounds
    CP-SAT's search only: building and transforming the cpmpy model comes on top, and at 364 days × 150 staff ×
    32 types that alone took over 7 minutes (a 10 s limit, killed at 420 s). ``roster.nrp.check`` answers there
    in a fraction of a second."""
    ref = build(instance)
    code = {sid: i + 1 for i, sid in enumerate(ref.shift_ids)}
    index = {s.id: i for i, s in enumerate(instance.staff)}
    values = [[0] * instance.horizon for _ in instance.staff]
    for a in assignments:
        if a.person not in index or a.shift not in code or not 0 <= a.day < instance.horizon:
            return CheckResult(BREAKS_A_RULE, None)  # a person, shift or day the instance does not have
        if values[index[a.person]][a.day] != 0:
            return CheckResult(BREAKS_A_RULE, None)  # two shifts on one day: not even expressible in the reference
        values[index[a.person]][a.day] = code[a.shift]
    model = ref.model.copy()
    for i in range(len(instance.staff)):
        for d in range(instance.horizon):
            model += ref.nurse_view[i, d] == values[i][d]
    if model.solve("ortools", time_limit=time_limit_s, num_workers=1):
        return CheckResult(KEEPS_EVERY_RULE, int(model.objective_value()))
    if model.status().exitstatus == ExitStatus.UNSATISFIABLE:
        return CheckResult(BREAKS_A_RULE, None)
    return CheckResult(UNDECIDED, None)
