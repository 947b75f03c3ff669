"""Scorecards (考核) at a cycle's close: per unit, per bundled township + department (捆绑考核), ranked.

Counted from the cycle's findings, one fact per (finding, responsible unit), each judged by the task it lives
in at the close — its own, or the open task it merged into (an earlier cycle's, a patrol hazard's, another
finding's of this cycle): verified before that task's deadline is rectified on time, verified at or after it
late, not verified still open. A bundled finding (against a township and a department together) counts for
each unit and once for the pair; the pair is on time only when both halves are, open while either is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TaskFact:
    """One finding of the cycle for one of its units, and the task it lives in."""

    task_id: str
    unit_id: str
    finding_id: str | None
    bundle: tuple[str, str] | None  # (township, department) when the finding named both
    deadline: datetime
    verified_at: datetime | None
    rejections: int  # revisits rejected in the task since the finding joined it (a row counts a task's once)

    @property
    def outcome(self) -> str:
        if self.verified_at is None:
            return "open"
        return "on_time" if self.verified_at < self.deadline else "late"


@dataclass
class Tally:
    findings: int = 0
    rectified_on_time: int = 0
    rectified_late: int = 0
    still_open: int = 0
    revisit_rejections: int = 0

    def add(self, outcome: str, rejections: int) -> None:
        self.findings += 1
        if outcome == "on_time":
            self.rectified_on_time += 1
        elif outcome == "late":
            self.rectified_late += 1
        else:
            self.still_open += 1
        self.revisit_rejections += rejections

    @property
    def on_time_rate(self) -> float:
        """Share rectified on time; a unit without findings has nothing to answer for (1.0)."""
        return 1.0 if self.findings == 0 else self.rectified_on_time / self.findings


@dataclass
class Row:
    subject: str  # a unit id, or "township+department"
    units: list[str]
    tally: Tally = field(default_factory=Tally)
    rank: int = 0
    _tasks: set[str] = field(default_factory=set)  # tasks whose rejections are counted

    def add(self, outcome: str, facts: Iterable[TaskFact]) -> None:
        """One finding (of this row's unit, or of the pair) with its outcome; the rejections of each task it
        lives in are counted once per row, however many of the cycle's findings live in that task."""
        rejections = 0
        for fact in facts:
            if fact.task_id not in self._tasks:
                self._tasks.add(fact.task_id)
                rejections += fact.rejections
        self.tally.add(outcome, rejections)

    def as_dict(self) -> dict[str, object]:
        t = self.tally
        return {
            "subject": self.subject, "units": self.units, "findings": t.findings,
            "rectified_on_time": t.rectified_on_time, "rectified_late": t.rectified_late,
            "still_open": t.still_open, "revisit_rejections": t.revisit_rejections,
            "on_time_rate": round(t.on_time_rate, 4), "rank": self.rank,
        }


def _rank(rows: list[Row]) -> list[Row]:
    """Best first: on-time rate, then fewest still open, then fewest rejections; equal rows share a rank."""
    def key(row: Row) -> tuple[float, int, int]:
        return (-row.tally.on_time_rate, row.tally.still_open, row.tally.revisit_rejections)

    ordered = sorted(rows, key=lambda r: (key(r), r.subject))
    for position, row in enumerate(ordered, start=1):
        row.rank = ordered[position - 2].rank if position > 1 and key(ordered[position - 2]) == key(row) else position
    return ordered


def scorecard(unit_ids: Iterable[str], facts: Iterable[TaskFact]) -> dict[str, list[dict[str, object]]]:
    units = {u: Row(u, [u]) for u in unit_ids}
    by_bundled_finding: dict[tuple[str, tuple[str, str]], list[TaskFact]] = defaultdict(list)
    for fact in facts:
        row = units.setdefault(fact.unit_id, Row(fact.unit_id, [fact.unit_id]))
        row.add(fact.outcome, [fact])
        if fact.bundle is not None and fact.finding_id is not None:
            by_bundled_finding[(fact.finding_id, fact.bundle)].append(fact)
    bundles: dict[tuple[str, str], Row] = {}
    for (_, pair), pair_facts in by_bundled_finding.items():
        row = bundles.setdefault(pair, Row(f"{pair[0]}+{pair[1]}", list(pair)))
        outcomes = {f.outcome for f in pair_facts}
        outcome = "open" if "open" in outcomes else ("late" if "late" in outcomes else "on_time")
        row.add(outcome, pair_facts)
    return {
        "units": [r.as_dict() for r in _rank(list(units.values()))],
        "bundles": [r.as_dict() for r in _rank(list(bundles.values()))],
    }


CSV_COLUMNS = ("rank", "subject", "findings", "rectified_on_time", "rectified_late", "still_open",
               "revisit_rejections", "on_time_rate")
# The CSV's header row, Chinese first as everything a person reads (the column's name in the JSON beside it).
CSV_HEADERS = {"rank": "排名", "subject": "考核对象", "findings": "问题数", "rectified_on_time": "按期整改",
               "rectified_late": "逾期整改", "still_open": "未整改", "revisit_rejections": "回访未通过",
               "on_time_rate": "按期整改率"}
