"""The live coverage's pure rules: what a night is, how events fold into the stream's state (idempotent and
order-free, which is what lets the stream run at-least-once), and the figures computed from it."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from faust.windows import TumblingWindow

from patrol.live.coverage import (
    RouteInfo,
    add_visit,
    compute,
    fold_round,
    is_late,
    join_rounds,
    join_routes,
    join_visits,
    newer_route,
)
from patrol.live.night import NIGHT_SECONDS, night_bounds, night_of, night_of_window, window_timestamp

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def test_a_night_runs_from_local_noon_to_the_next_local_noon() -> None:
    assert night_of(local("2026-11-22 11:59:59"), SHANGHAI) == date(2026, 11, 21)
    assert night_of(local("2026-11-22 12:00:00"), SHANGHAI) == date(2026, 11, 22)
    assert night_of(local("2026-11-22 20:00"), SHANGHAI) == date(2026, 11, 22)
    assert night_of(local("2026-11-23 02:00"), SHANGHAI) == date(2026, 11, 22)  # across midnight: same night
    assert night_of(local("2026-11-23 11:59:59"), SHANGHAI) == date(2026, 11, 22)
    # read in UTC: 04:00 UTC is Shanghai's noon
    assert night_of(datetime(2026, 11, 22, 3, 59, tzinfo=UTC), SHANGHAI) == date(2026, 11, 21)
    assert night_of(datetime(2026, 11, 22, 4, 0, tzinfo=UTC), SHANGHAI) == date(2026, 11, 22)
    start, end = night_bounds(date(2026, 11, 22), SHANGHAI)
    assert (start, end) == (datetime(2026, 11, 22, 4, tzinfo=UTC), datetime(2026, 11, 23, 4, tzinfo=UTC))


def test_faust_tumbling_windows_over_the_shifted_time_are_exactly_the_nights() -> None:
    """The stream and the record must put every instant in the same night; checked across a year, in a zone
    without daylight saving (Shanghai) and one with it (Berlin: its nights of 23 and 25 hours)."""
    window = TumblingWindow(NIGHT_SECONDS)
    rng = random.Random(9)
    for zone in (SHANGHAI, ZoneInfo("Europe/Berlin")):
        for _ in range(3000):
            instant = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(366 * NIGHT_SECONDS))
            [(start, _end)] = window.ranges(window_timestamp(instant, zone))
            assert night_of_window(start) == night_of(instant, zone)
            first, last = night_bounds(night_of(instant, zone), zone)
            assert first <= instant < last


def test_a_visit_folds_once_whatever_the_order_and_the_repeats() -> None:
    visits = [("CP-1", "张三"), ("CP-2", "张三"), ("CP-1", "李四"), ("CP-1", "张三"), ("CP-2", "张三")]
    results = set()
    for order in itertools.permutations(visits):
        state: dict[str, list[str]] | None = None
        for checkpoint, member in [*order, *order]:  # each delivered twice
            state = add_visit(state, checkpoint, member) or state
        assert state is not None
        results.add(tuple(sorted((k, tuple(v)) for k, v in state.items())))
    assert results == {(("CP-1", ("张三", "李四")), ("CP-2", ("张三",)))}
    assert add_visit({"CP-1": ["张三"]}, "CP-1", "张三") is None  # nothing to write to the changelog


def test_a_route_keeps_its_highest_version_whatever_the_order() -> None:
    assert newer_route(None, {"version": 1})
    assert newer_route({"version": 1}, {"version": 2})
    assert not newer_route({"version": 2}, {"version": 1})  # an old version arriving late
    assert not newer_route({"version": 2}, {"version": 2})  # a redelivery


def test_a_round_is_late_when_reported_not_started_and_not_started_since_in_any_order() -> None:
    not_started, started = "patrol.round-not-started", "patrol.round-started"
    for events, late in [
        ([not_started], True),
        ([not_started, started], False),
        ([started, not_started], False),  # the start overtook the report: still started
        ([not_started, not_started], True),
        ([started], False),
        (["patrol.round-completed", not_started], False),
        ([not_started, "patrol.round-incomplete"], False),
        ([not_started, "patrol.round-expired", "patrol.checkpoint-missed"], True),  # never started: still late
    ]:
        state = None
        for event in events:
            state = fold_round(state, event, "R-1") or state
        assert state is not None
        assert is_late(state) is late, events
    assert fold_round({"route_id": "R-1", "not_started": True, "started": False}, not_started, "R-1") is None


def test_figures_per_route_and_township() -> None:
    routes = [
        RouteInfo("R-1", 2, "塘下镇一线", "塘下镇", ("CP-1", "CP-2", "CP-3")),
        RouteInfo("R-2", 1, "塘下镇二线", "塘下镇", ("CP-3", "CP-4")),
        RouteInfo("R-3", 1, "无区线", None, ("CP-9",)),
    ]
    visits = [("CP-1", "张三"), ("CP-1", "张三"), ("CP-3", "李四"), ("CP-4", "王五"), ("CP-7", "赵六")]
    late = [("round-1", "R-2"), ("round-2", "R-2"), ("round-3", "R-404")]
    coverage = compute(routes, visits, late)
    by_route = {r.route_id: (r.checkpoints_total, r.checkpoints_covered, r.active_patrollers, r.rounds_late)
                for r in coverage.routes}
    assert by_route == {"R-1": (3, 2, 2, 0), "R-2": (2, 2, 2, 2), "R-3": (1, 0, 0, 0)}
    assert [(t.township, t.routes, t.checkpoints_total, t.checkpoints_covered, t.active_patrollers, t.rounds_late)
            for t in coverage.townships] == [("塘下镇", 2, 4, 3, 3, 2), (None, 1, 1, 0, 0, 0)]
    assert [r.route_id for r in compute(routes, visits, late, areas={"塘下镇"}).routes] == ["R-1", "R-2"]
    assert [r.route_id for r in compute(routes, visits, late, route="R-2").routes] == ["R-2"]
    assert compute(routes, visits, late, route="R-1", areas={"安阳街道"}).routes == []


def test_changelog_values_join_in_any_order_and_any_number_of_times() -> None:
    """Recovery joins each changelog record into the held value (tables.JoiningTable): replaying older records
    after newer ones, or twice, must give the newest state."""
    visits: list[dict[str, list[str]]] = [{}]
    for checkpoint, member in [("CP-1", "张三"), ("CP-2", "李四"), ("CP-1", "王五")]:
        visits.append(add_visit(visits[-1], checkpoint, member) or visits[-1])
    routes = [{"version": v, "name": f"v{v}"} for v in (1, 2, 3)]
    rounds: list[dict[str, object]] = [{}]
    for event in ("patrol.round-not-started", "patrol.round-started"):
        rounds.append(fold_round(rounds[-1], event, "R-1") or rounds[-1])
    for records, join, newest in ((visits[1:], join_visits, visits[-1]), (routes, join_routes, routes[-1]),
                                  (rounds[1:], join_rounds, rounds[-1])):
        for order in itertools.permutations([*records, records[0]]):
            state = order[0]
            for record in order[1:]:
                state = join(state, record)
            assert state == newest, (order, state)
