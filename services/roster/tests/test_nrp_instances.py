"""The Curtois benchmark: the loader reads every instance completely, the solver reaches a small instance's
proven optimum, the reference model agrees with the solver's roster (and rejects a broken one), and a model
of the benchmark's largest size builds fast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roster.nrp import load, parse, reference, to_problem
from roster.nrp.synthetic import generate
from roster.solver import Assignment, Cover, MinConsecutive, Progress, Request, Status, Unavailable, solve
from roster.solver.roster_model import RosterModel

# The instances live in the repository (bench/data/nrp, licence beside them); a missing file fails these tests
# (reading it raises), never skips them.
NRP = Path(__file__).resolve().parents[3] / "bench" / "data" / "nrp"


def readme_table() -> dict[str, tuple[int, int, int, int]]:
    cells = r"\s*(\d+)\s*\|" * 5
    rows = re.findall(r"^\|" + cells, (NRP / "README.md").read_text(), re.M)
    return {f"Instance{n}": (int(d), int(s), int(st), int(best)) for n, d, s, st, best in rows}


def count_rows(text: str, section: str) -> int:
    body = text.split(section, 1)[1].split("SECTION_", 1)[0]
    return sum(1 for line in body.splitlines() if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("number", range(1, 11))
def test_the_loader_reads_every_section_of_every_instance(number: int) -> None:
    path = NRP / f"Instance{number}.txt"
    text = path.read_text()
    instance = load(path)
    days, shift_types, staff, _ = readme_table()[instance.name]
    assert (instance.horizon, len(instance.shifts), len(instance.staff)) == (days, shift_types, staff)
    assert len(instance.on_requests) == count_rows(text, "SECTION_SHIFT_ON_REQUESTS")
    assert len(instance.off_requests) == count_rows(text, "SECTION_SHIFT_OFF_REQUESTS")
    assert len(instance.cover) == count_rows(text, "SECTION_COVER")
    assert len(instance.days_off) == count_rows(text, "SECTION_DAYS_OFF")
    for person in instance.staff:
        assert set(person.max_shifts) == {s.id for s in instance.shifts}
    problem = to_problem(instance)
    assert sum(isinstance(r, Cover) for r in problem.rules) == len(instance.cover)
    assert sum(isinstance(r, Request) for r in problem.rules) == len(instance.on_requests) + len(instance.off_requests)
    assert sum(isinstance(r, Unavailable) for r in problem.rules) == sum(len(v) for v in instance.days_off.values())
    assert sum(isinstance(r, MinConsecutive) for r in problem.rules) == staff


def test_a_shift_line_keeps_its_forbidden_successors() -> None:
    instance = load(NRP / "Instance10.txt")
    night = next(s for s in instance.shifts if s.id == "N")
    assert (night.minutes, night.cannot_follow) == (600, ("E", "d1", "d2", "L"))
    assert next(s for s in instance.shifts if s.id == "E").cannot_follow == ()


@pytest.mark.parametrize("number", [1, 2, 3])
def test_small_instances_reach_their_proven_optimum(number: int) -> None:
    instance = load(NRP / f"Instance{number}.txt")
    best = readme_table()[instance.name][3]
    solution = solve(to_problem(instance), time_limit_s=30)
    assert solution.status == Status.OPTIMAL
    assert solution.objective == best
    assert solution.best_bound == best


def test_the_reference_model_agrees_with_a_solved_roster_and_rejects_a_broken_one() -> None:
    instance = load(NRP / "Instance2.txt")
    solution = solve(to_problem(instance), time_limit_s=30)
    verdict = reference.check(instance, solution.assignments)
    assert verdict.feasible and verdict.objective == solution.objective
    # A shift on someone's day off breaks a hard rule the reference model states on its own.
    person, day = next((p, d) for p, days in instance.days_off.items() for d in days)
    roster = tuple(a for a in solution.assignments if (a.person, a.day) != (person, day))
    broken = reference.check(instance, (*roster, Assignment(person, day, instance.shifts[0].id)))
    assert broken.status == reference.BREAKS_A_RULE
    # Two shifts on one day cannot even be stated in the reference's one-value-per-day variables.
    first = solution.assignments[0]
    other = next(s.id for s in instance.shifts if s.id != first.shift)
    two_shifts = reference.check(instance, (*solution.assignments, Assignment(first.person, first.day, other)))
    assert two_shifts.status == reference.BREAKS_A_RULE


def test_the_reference_model_matches_cpmpys_own_model_of_the_format() -> None:
    from cpmpy.tools.io.nurserostering import _model_nurserostering, parse_scheduling_period

    path = NRP / "Instance3.txt"
    instance = load(path)
    solution = solve(to_problem(instance), time_limit_s=30)
    theirs, view = _model_nurserostering(**parse_scheduling_period(str(path)))
    code = {s.id: i + 1 for i, s in enumerate(instance.shifts)}
    row = {s.id: i for i, s in enumerate(instance.staff)}
    values = [[0] * instance.horizon for _ in instance.staff]
    for a in solution.assignments:
        values[row[a.person]][a.day] = code[a.shift]
    for i, line in enumerate(values):
        for d, value in enumerate(line):
            theirs += view[i, d] == value
    assert theirs.solve("ortools", time_limit=20)
    assert theirs.objective_value() == solution.objective == reference.check(instance, solution.assignments).objective


def test_a_model_of_the_largest_benchmark_size_builds() -> None:
    # How fast it builds is make bench-roster's to print (a wall-clock bound here failed on a loaded CI machine)
    instance = parse(generate(364, 150, 32, seed=1), name="synthetic")
    built = RosterModel(to_problem(instance))
    assert len(built.model.proto.variables) > 150 * 364


def test_the_large_model_path_starts_from_a_first_roster_and_reports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import roster.solver.search as search

    monkeypatch.setattr(search, "LARGE_MODEL", 0)  # take the path of 364 × 150 models on a small instance
    monkeypatch.setattr(search, "templates", lambda problem: None)  # as for rules a template does not keep
    instance = load(NRP / "Instance4.txt")
    progress: list[Progress] = []
    solution = solve(to_problem(instance), time_limit_s=4, on_progress=progress.append)
    assert solution.status in (Status.FEASIBLE, Status.OPTIMAL)
    assert progress[0].solutions == 0  # the first roster, found without the objective, reported first
    assert progress[-1].objective >= solution.objective
    verdict = reference.check(instance, solution.assignments)
    assert verdict.feasible and verdict.objective == solution.objective
