"""The pure rules of plans and rounds (no I/O): windows across midnight, slots, clashes, the round state machine
judged by device time whatever the arrival order, and which round a scan joins."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from patrol.domain.plans import Plan, PlanIn, first_clash
from patrol.domain.rounds import Candidate, Effect, Round, RoundState, attach, choose_round, close, start_due

ZONE = ZoneInfo("Asia/Shanghai")
NIGHT = date(2026, 3, 2)


def at(hour: int, minute: int = 0, day: date = NIGHT) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE)


def plan(**overrides: object) -> Plan:
    values: dict[str, object] = {"id": "P", "team_id": "一队", "route_id": "R", "first_date": NIGHT,
                                 "window_start": "20:00", "window_end": "02:00", "rounds_per_night": 3}
    values.update(overrides)
    return Plan.from_input(PlanIn.model_validate(values))


def test_a_window_across_midnight_ends_the_next_day_in_local_time() -> None:
    start, end = plan().window_on(NIGHT)
    assert (start, end) == (at(20).astimezone(UTC), at(2, day=NIGHT + timedelta(days=1)).astimezone(UTC))
    slots = plan().slots(NIGHT)
    assert [(s.starts_at, s.ends_at) for s in slots] == [(at(20), at(22)), (at(22), at(0, day=date(2026, 3, 3))),
                                                         (at(0, day=date(2026, 3, 3)), at(2, day=date(2026, 3, 3)))]
    every = plan(rounds_per_night=None, every_minutes=150).slots(NIGHT)
    assert [s.starts_at for s in every] == [at(20), at(22, 30)]  # what fits in six hours: two whole rounds


def test_bad_plans_name_their_field() -> None:
    cases = {
        "window_end": {"window_end": "20:00"},
        "last_date": {"last_date": "2026-03-01"},
        "rounds_per_night": {"every_minutes": 60},  # both given
        "every_minutes": {"rounds_per_night": None, "every_minutes": 7 * 60},
    }
    for field, override in cases.items():
        with pytest.raises(ValidationError) as caught:
            plan(**override)
        assert [e["loc"] for e in caught.value.errors()] == [(field,)], field


def test_clashes_are_found_between_daily_windows() -> None:
    nightly = plan(last_date=date(2026, 3, 9)).windows()
    late_on_the_fifth = plan(first_date=date(2026, 3, 6), window_start="01:00", window_end="03:00").windows()
    assert first_clash(late_on_the_fifth, nightly) == late_on_the_fifth[0]
    day_shift = plan(window_start="08:00", window_end="19:00", last_date=date(2026, 3, 9)).windows()
    assert first_clash(day_shift, nightly) is None


def fresh_round() -> Round:
    return Round(id="r", starts_at=at(20), ends_at=at(22), start_due_at=at(20, 15), closes_at=at(22, 10),
                 state=RoundState.PENDING, checkpoint_ids=["A", "B", "C"],
                 first_scan_at={"A": None, "B": None, "C": None})


def test_the_same_scans_in_any_order_end_in_the_same_round() -> None:
    scans = [("A", at(20, 5)), ("B", at(20, 30)), ("C", at(21, 0)), ("A", at(21, 40))]
    finals = set()
    for order in itertools.permutations(scans):
        r = fresh_round()
        kinds = [e.effect for s in order for e in attach(r, *s)]
        assert kinds.count(Effect.STARTED) == 1 and kinds.count(Effect.COMPLETED) == 1
        finals.add((r.state, r.started_at, r.completed_at, tuple(r.first_scan_at.items())))
    assert finals == {(RoundState.COMPLETED, at(20, 5), at(21, 0),
                       (("A", at(20, 5)), ("B", at(20, 30)), ("C", at(21, 0))))}


def test_not_started_at_once_and_missed_at_close_each_once_and_resolved_by_a_late_batch() -> None:
    r = fresh_round()
    assert [e.effect for e in start_due(r)] == [Effect.NOT_STARTED]
    assert start_due(r) == []  # a second firing raises nothing
    effects = close(r)
    assert [(e.effect, e.checkpoint_id) for e in effects] == [
        (Effect.EXPIRED, None), (Effect.MISSED, "A"), (Effect.MISSED, "B"), (Effect.MISSED, "C")]
    assert close(r) == [] and r.state is RoundState.EXPIRED
    late = attach(r, "B", at(20, 40))
    assert [(e.effect, e.checkpoint_id) for e in late] == [
        (Effect.STARTED, None), (Effect.NOT_STARTED_RESOLVED, None), (Effect.INCOMPLETE, None),
        (Effect.MISSED_RESOLVED, "B")]
    assert r.state is RoundState.INCOMPLETE and r.missed_raised == {"A", "C"}
    assert [e.effect for e in attach(r, "B", at(20, 20))] == []  # an earlier scan of B fills nothing new
    attach(r, "A", at(20, 10))
    assert [e.effect for e in attach(r, "C", at(21))] == [Effect.MISSED_RESOLVED, Effect.COMPLETED]
    assert r.state is RoundState.COMPLETED and r.missed_raised == set()


def test_a_scan_in_the_grace_fills_the_earlier_round_when_it_still_needs_the_checkpoint() -> None:
    first = Candidate("r1", at(20), at(21), at(21, 10), checkpoint_open=True)
    second = Candidate("r2", at(21), at(22), at(22, 10), checkpoint_open=True)
    assert choose_round([first, second], at(21, 5)) == "r1"
    done = Candidate("r1", at(20), at(21), at(21, 10), checkpoint_open=False)
    assert choose_round([done, second], at(21, 5)) == "r2"
    assert choose_round([done, second], at(22, 30)) is None  # after every window: voluntary
