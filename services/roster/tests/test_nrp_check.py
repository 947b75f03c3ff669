"""The direct roster checker of Curtois instances (``roster.nrp.check``): a hand-written two-week instance where
every rule is set by hand, a valid roster of it, and for each hard rule kind a roster that breaks exactly that
one; the price against the reference model's and with duplicate rows; and a valid roster of the benchmark's
largest size."""

from __future__ import annotations

from pathlib import Path

import pytest

from roster.nrp import Instance, load, parse, reference
from roster.nrp.check import (
    DAY_OFF,
    MALFORMED,
    MAX_CONSECUTIVE,
    MAX_MINUTES,
    MAX_OF_TYPE,
    MAX_WEEKENDS,
    MIN_CONSECUTIVE,
    MIN_DAYS_OFF,
    MIN_MINUTES,
    SUCCESSION,
    TWO_SHIFTS,
    check,
    describe,
)
from roster.solver import Assignment

NRP = Path(__file__).resolve().parents[3] / "bench" / "data" / "nrp"

# Two weeks from a Monday (weekends: days 5-6 and 12-13). N may not be followed by D. A has every rule tight
# enough to break: at most 8 D and 3 N, 2400-5600 minutes, 2-4 days in a row, 2 days off in a row, 1 weekend,
# day 4 off. B and C are loose (B's empty roster keeps everything); C needs runs of 3, to test the horizon ends.
TINY = """\
SECTION_HORIZON
14

SECTION_SHIFTS
D,480,
N,1200,D

SECTION_STAFF
A,D=8|N=3,5600,2400,4,2,2,1
B,D=14|N=14,10000,0,14,1,1,2
C,D=14|N=14,10000,0,14,3,3,2

SECTION_DAYS_OFF
A,4

SECTION_SHIFT_ON_REQUESTS
A,0,D,2
B,3,N,5

SECTION_SHIFT_OFF_REQUESTS
A,13,N,3
A,12,N,7

SECTION_COVER
0,D,1,100,1
0,N,1,50,1
13,N,0,100,4
"""


def tiny() -> Instance:
    return parse(TINY, name="tiny")


def roster(person: str, plan: dict[int, str]) -> tuple[Assignment, ...]:
    return tuple(Assignment(person, day, shift) for day, shift in sorted(plan.items()))


# A: works 0-3, off 4-6, works 7-8, off 9-10, works 11-13 (N last): 8 D + 1 N = 5040 minutes, one weekend.
VALID = {0: "D", 1: "D", 2: "D", 3: "D", 7: "D", 8: "D", 11: "D", 12: "D", 13: "N"}


def without(plan: dict[int, str], *days: int) -> dict[int, str]:
    return {d: s for d, s in plan.items() if d not in days}


def kinds(assignments: tuple[Assignment, ...]) -> list[str]:
    """The kinds of rule broken by ``assignments`` beside A's valid roster."""
    return [b.kind for b in check(tiny(), (*roster("A", VALID), *assignments)).broken]


def test_the_valid_roster_keeps_every_rule_and_is_priced_exactly() -> None:
    verdict = check(tiny(), roster("A", VALID))
    assert verdict.broken == () and verdict.feasible
    # B's on-request unmet (5), A's off-request on day 13 met (3); day 0 cover: D met, N short by one (50);
    # day 13: one N over a requirement of 0 (4).
    assert verdict.penalties == {"on requests": 5, "off requests": 3, "under cover": 50, "over cover": 4}
    assert verdict.objective == 62
    assert describe(verdict) == "valid, objective 62"


BREAKS = {
    TWO_SHIFTS: (*roster("A", without(VALID, 0, 11)), Assignment("A", 12, "N")),
    SUCCESSION: roster("A", {**without(VALID, 0), 7: "N"}),
    MAX_OF_TYPE: roster("A", {**VALID, 13: "D"}),
    MAX_MINUTES: roster("A", {**VALID, 3: "N"}),
    MIN_MINUTES: roster("A", without(VALID, 7, 8, 11, 12, 13)),
    MAX_CONSECUTIVE: roster("A", {**without(VALID, 0, 1, 2, 3), 9: "D", 10: "D"}),
    MIN_CONSECUTIVE: roster("A", without(VALID, 8)),
    MIN_DAYS_OFF: roster("A", {**without(VALID, 0), 10: "D"}),
    MAX_WEEKENDS: roster("A", {**without(VALID, 0, 1, 2, 3), 5: "D", 6: "D"}),
    DAY_OFF: roster("A", {**without(VALID, 0), 4: "D"}),
}


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_a_roster_breaking_one_rule_is_flagged_with_that_rule_only(kind: str) -> None:
    verdict = check(tiny(), BREAKS[kind])
    assert [b.kind for b in verdict.broken] == [kind]
    assert verdict.broken[0].person == "A" and not verdict.feasible
    assert describe(verdict).startswith(f"breaks 1 rules: {kind}: A ")


def test_the_broken_rules_name_their_days() -> None:
    def days(kind: str) -> tuple[int, ...]:
        return check(tiny(), BREAKS[kind]).broken[0].days

    assert days(TWO_SHIFTS) == (12,)
    assert days(SUCCESSION) == (7, 8)
    assert days(MAX_CONSECUTIVE) == (7, 8, 9, 10, 11, 12, 13)
    assert days(MIN_CONSECUTIVE) == (7,)
    assert days(MIN_DAYS_OFF) == (9,)
    assert days(MAX_WEEKENDS) == (5, 6, 12, 13)
    assert days(DAY_OFF) == (4,)


def test_an_unknown_person_shift_or_day_is_a_malformed_roster_and_left_out_of_the_rest() -> None:
    bad = (Assignment("Z", 5, "D"), Assignment("B", 5, "X"), Assignment("B", 14, "D"), Assignment("B", -1, "D"))
    verdict = check(tiny(), (*roster("A", VALID), *bad))
    assert [b.kind for b in verdict.broken] == [MALFORMED] * 4
    assert verdict.objective == 62


def test_runs_touching_either_end_of_the_horizon_have_no_minimum() -> None:
    # C needs 3 days in a row and 3 off in a row, except for runs at the horizon's start or end.
    at_the_ends = roster("C", {0: "D", 4: "D", 5: "D", 6: "D", 13: "D"})
    off_at_the_ends = roster("C", {1: "D", 2: "D", 3: "D", 7: "D", 8: "D", 9: "D", 10: "D", 11: "D"})
    assert kinds(at_the_ends) == [] and kinds(off_at_the_ends) == []
    assert kinds(roster("C", {0: "D", 6: "D", 13: "D"})) == [MIN_CONSECUTIVE]
    assert kinds(roster("C", {0: "D", 1: "D", 2: "D", 4: "D", 5: "D", 6: "D"})) == [MIN_DAYS_OFF]


def test_max_consecutive_forbids_a_window_one_longer_and_a_missing_type_limit_is_none() -> None:
    text = TINY.replace("B,D=14|N=14,10000,0,14,1,1,2", "B,D=14,100000,0,3,1,1,2")
    instance = parse(text)
    four = roster("B", {d: "N" for d in range(9, 13)})  # N has no limit for B; four days in a row is one too many
    assert [b.kind for b in check(instance, (*roster("A", VALID), *four)).broken] == [MAX_CONSECUTIVE]
    three_at_most = roster("B", {d: "N" for d in (0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13)})
    assert check(instance, (*roster("A", VALID), *three_at_most)).feasible


def test_duplicate_request_and_cover_rows_are_each_counted() -> None:
    text = TINY.replace("A,0,D,2", "A,0,D,2\nA,0,D,2").replace("0,N,1,50,1", "0,N,1,50,1\n0,N,1,50,1")
    verdict = check(parse(text), roster("A", without(VALID, 0)))  # A's on-request of day 0 is unmet twice
    assert verdict.feasible
    assert verdict.penalties == {"on requests": 5 + 2 + 2, "off requests": 3, "under cover": 100 + 50 + 50,
                                 "over cover": 4}


def test_the_price_is_the_reference_models_on_a_hand_made_roster() -> None:
    instance = tiny()
    assignments = (*roster("A", VALID), Assignment("B", 0, "N"), Assignment("B", 13, "N"),
                   Assignment("C", 0, "D"))
    ours = check(instance, assignments)
    theirs = reference.check(instance, assignments)
    assert ours.feasible and theirs.status == reference.KEEPS_EVERY_RULE
    assert ours.objective == theirs.objective


@pytest.mark.parametrize("number", [1, 2])
def test_the_price_of_a_solved_roster_is_the_reference_models(number: int) -> None:
    from roster.nrp import to_problem
    from roster.solver import solve

    instance = load(NRP / f"Instance{number}.txt")
    solution = solve(to_problem(instance), time_limit_s=2, workers=1)
    ours = check(instance, solution.assignments)
    theirs = reference.check(instance, solution.assignments)
    assert ours.feasible and theirs.status == reference.KEEPS_EVERY_RULE
    assert ours.objective == theirs.objective
    # One more shift on someone's day off: both see the broken rule.
    person, day = next((p, d) for p, days in instance.days_off.items() for d in days)
    kept = tuple(a for a in solution.assignments if (a.person, a.day) != (person, day))
    broken = (*kept, Assignment(person, day, instance.shifts[0].id))
    assert DAY_OFF in [b.kind for b in check(instance, broken).broken]
    assert reference.check(instance, broken).status == reference.BREAKS_A_RULE


def large_instance_and_roster(days: int, staff: int, shifts: int) -> tuple[str, tuple[Assignment, ...]]:
    """A loose instance of the given size and a roster keeping its rules by construction: everyone works five
    days and rests two, cycling (staggered by person) through the shift types, with a day off on a rest day;
    the cover asks exactly for the crews the roster makes, so its price is 0."""
    ids = [f"S{s}" for s in range(shifts)]
    people = [f"P{p}" for p in range(staff)]
    plan = [
        Assignment(person, d, ids[(p + d) % shifts])
        for p, person in enumerate(people)
        for d in range(days)
        if (d + p) % 7 < 5
    ]
    crews: dict[tuple[int, str], int] = {}
    for a in plan:
        crews[(a.day, a.shift)] = crews.get((a.day, a.shift), 0) + 1
    lines = ["SECTION_HORIZON", str(days), "", "SECTION_SHIFTS"]
    lines += [f"{sid},480,{ids[(s + 2) % shifts]}" for s, sid in enumerate(ids)]  # never the roster's next shift
    lines += ["", "SECTION_STAFF"]
    lines += [f"{person},,{days * 480},{days * 200},5,2,2,{days // 7}" for person in people]
    lines += ["", "SECTION_DAYS_OFF"]
    lines += [f"{person},{next(d for d in range(days) if (d + p) % 7 == 5)}" for p, person in enumerate(people)]
    lines += ["", "SECTION_SHIFT_ON_REQUESTS"]
    lines += [f"{a.person},{a.day},{a.shift},1" for a in plan[::97]]
    lines += ["", "SECTION_COVER"]
    lines += [f"{d},{sid},{crews.get((d, sid), 0)},100,1" for d in range(days) for sid in ids]
    return "\n".join(lines) + "\n", tuple(plan)


def test_a_valid_roster_of_the_largest_size_checks_valid() -> None:
    text, plan = large_instance_and_roster(364, 150, 32)
    instance = parse(text, name="large")
    verdict = check(instance, plan)
    assert verdict.broken == ()
    assert verdict.objective == 0
