"""The roster grid (console.pages.roster.grid) from roster's answers, without a server: who the rows are, what a
cell holds, and the loads fairness is judged by."""

from __future__ import annotations

from datetime import time
from typing import Any

from console.pages.roster.grid import build_grid, is_night

PERIOD: dict[str, Any] = {
    "period_id": "263", "starts_on": "2026-12-11", "ends_on": "2026-12-14", "cohort": ["B", "A", "C"],
    "duties": [{"duty_id": "night", "title": "夜间巡逻", "start_time": "20:00:00", "end_time": "02:00:00"},
               {"duty_id": "day", "title": "白天学习训练", "start_time": "08:30:00", "end_time": "11:30:00"}],
}


def shift(duty: str, day: str) -> dict[str, str]:
    return {"shift_id": f"263:{duty}@{day}", "duty_id": duty, "day": day}


SHIFTS = [*(shift("night", d) for d in ("2026-12-11", "2026-12-12", "2026-12-13", "2026-12-14")),
          shift("day", "2026-12-12")]


def test_rows_are_the_cohort_then_anyone_else_a_crew_names_and_cells_hold_that_days_duties() -> None:
    crews = {"263:night@2026-12-11": ["A"], "263:night@2026-12-12": ["B"], "263:day@2026-12-12": ["A"],
             "263:night@2026-12-13": ["A", "D"], "263:night@2026-12-20": ["C"]}  # the last: outside the period
    grid = build_grid(PERIOD, [*SHIFTS, shift("night", "2026-12-20")], crews, {"A": "甲", "B": "乙"},
                      year_nights={"A": 7})
    assert [(r.member_id, r.name, r.in_cohort) for r in grid.rows] == [
        ("A", "甲", True), ("B", "乙", True), ("C", "C", True), ("D", "D", False)]
    a = grid.rows[0]
    assert [[d.title for d in cell] for cell in a.cells] == [["夜间巡逻"], ["白天学习训练"], ["夜间巡逻"], []]
    assert (a.shifts, a.nights, a.weekends(grid.days), a.year_nights) == (3, 2, 2, 7)  # 12-12, 12-13: Sat, Sun
    assert grid.rows[1].year_nights is None  # the service reported no figure for B
    assert [grid.on_duty(i) for i in range(4)] == [1, 2, 2, 0]
    assert (grid.total_shifts, grid.total_nights, grid.total_weekends) == (5, 4, 4)
    # the spread is the cohort's (D, brought in by a swap, is not judged with them): A 3, B 1, C 0
    assert (grid.spread("shifts"), grid.spread("nights"), grid.spread("weekends")) == (3, 2, 2)


def test_a_night_starts_at_or_after_18_or_runs_past_midnight_as_roster_counts_it() -> None:
    assert is_night(time(18, 0), time(23, 0)) and is_night(time(8, 0), time(7, 0))
    assert not is_night(time(8, 30), time(11, 30)) and not is_night(time(17, 59), time(23, 0))
